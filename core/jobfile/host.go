package jobfile

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// CheckHost checks the settings a job file gave against this machine,
// where the original's datatypes check them when the file is loaded: the
// socket-name's directory exists or is one missing level below one that
// does, so does the directory, the user exists, and the directories of
// the transcript, the logfile and the event log's files exist. Only
// settings with a source (Sources) are checked, at that range: values of
// the command line are the command layer's to report, in the original's
// words. A file written for another machine can skip this.
//
// Relative transcript and event-log paths are taken relative to directory
// (where the daemonized manager opens them); other relative paths are
// relative to the current directory, as the original resolves them.
func CheckHost(c *Job) hcl.Diagnostics {
	return append(CheckHostPlaces(c), CheckHostFiles(c)...)
}

// CheckHostPlaces is the part of CheckHost every command needs: the
// socket's directory, the directory and the user.
func CheckHostPlaces(c *Job) hcl.Diagnostics {
	var diags hcl.Diagnostics
	at := func(key string) (*hcl.Range, bool) {
		s, ok := c.Sources[key]
		r := HCLRange(s)
		return &r, ok
	}
	if rng, ok := at(runnerBlock + "/socket-name"); ok && c.SocketName != "" {
		s := ExpandHome(c.SocketName)
		dir := filepath.Dir(s)
		if !isDir(dir) && !isDir(filepath.Dir(dir)) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Socket directory does not exist",
				Detail: fmt.Sprintf("The directory named as part of the path %s does not exist. zdaemon creates one missing level (%s), not more: create %s first, or correct the path.",
					c.SocketName, dir, filepath.Dir(dir)),
				Subject: rng,
			})
		}
	}
	if rng, ok := at(runnerBlock + "/directory"); ok && c.Directory != "" {
		d := ExpandHome(c.Directory)
		if !isDir(d) && !isDir(filepath.Dir(d)) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Directory does not exist",
				Detail: fmt.Sprintf("%s is not an existing directory, and zdaemon creates only one missing level: %s does not exist either. Create it first, or correct the path.",
					c.Directory, filepath.Dir(d)),
				Subject: rng,
			})
		}
	}
	if rng, ok := at(runnerBlock + "/user"); ok && c.User != "" {
		if msg := lookupUser(c.User); msg != "" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unknown user",
				Detail:   msg + ": there is no such user on this machine. Create the user, or name another one.",
				Subject:  rng,
			})
		}
	}
	return diags
}

// CheckHostFiles is the part of CheckHost a manager about to start needs:
// the directories of the transcript, the logfile and the event log's
// files. Commands that talk to a running manager do not need it, and a log
// directory removed under a running job must not keep anyone from
// stopping it.
func CheckHostFiles(c *Job) hcl.Diagnostics {
	var diags hcl.Diagnostics
	at := func(key string) (*hcl.Range, bool) {
		s, ok := c.Sources[key]
		r := HCLRange(s)
		return &r, ok
	}
	runDir := ""
	if c.Daemon {
		runDir = ExpandHome(c.Directory)
	}
	if rng, ok := at(runnerBlock + "/transcript"); ok {
		diags = append(diags, dirOf("transcript", c.Transcript, runDir, rng)...)
	}
	if rng, ok := at(runnerBlock + "/logfile"); ok {
		diags = append(diags, dirOf("logfile", c.Logfile, "", rng)...)
	}
	if path, rng, ok := fileSinkPath(c); ok {
		diags = append(diags, dirOf("transcript", path, runDir, rng)...)
	}
	if c.EventLog != nil {
		for i, lf := range c.EventLog.Logfiles {
			if rng, ok := at(logfileSource(i)); ok && lf.Path != "STDOUT" && lf.Path != "STDERR" {
				diags = append(diags, dirOf("event log file", lf.Path, runDir, rng)...)
			}
		}
	}
	return diags
}

// fileSinkPath is the path of a transcript "file" block that chooses the
// transcript (no -t or runner transcript overrides it), with its range;
// ok is false when there is none, or it is not a plain string (the
// block's decoding reports that).
func fileSinkPath(c *Job) (string, *hcl.Range, bool) {
	b := c.SinkBlock
	if b == nil || b.Kind != "file" || b.Plugin != "" || (c.Transcript != "" && c.Transcript != config.DefaultTranscript) {
		return "", nil, false
	}
	attrs, _ := b.Body.JustAttributes()
	attr, ok := attrs["path"]
	if !ok {
		return "", nil, false
	}
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return "", nil, false
	}
	rng := attr.Expr.Range()
	return v.AsString(), &rng, true
}

// dirOf is the original's existing-dirpath: the directory part of path
// must exist (a bare file name is fine). base is where relative paths
// start ("" = the current directory).
func dirOf(what, path, base string, rng *hcl.Range) hcl.Diagnostics {
	p := ExpandHome(path)
	dir := filepath.Dir(p)
	if p == "" || dir == "." {
		return nil
	}
	where := dir
	if base != "" && !filepath.IsAbs(dir) {
		where = filepath.Join(base, dir)
	}
	if isDir(where) {
		return nil
	}
	detail := fmt.Sprintf("The directory of %s, %s, does not exist. Create it first, or correct the path.", path, dir)
	if where != dir {
		detail = fmt.Sprintf("The directory of %s, %s (relative to directory %s), does not exist. Create it first, or correct the path.", path, dir, base)
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Missing directory of " + what,
		Detail:   detail,
		Subject:  rng,
	}}
}

// lookupUser returns the original's message when name (a user name or a
// numeric uid) is not a user of this machine, "" when it is.
func lookupUser(name string) string {
	if _, err := strconv.Atoi(name); err == nil {
		if _, err := user.LookupId(name); err != nil {
			return fmt.Sprintf("uid %s not found", pyrepr.Str(name))
		}
		return ""
	}
	if _, err := user.Lookup(name); err != nil {
		return fmt.Sprintf("username %s not found", pyrepr.Str(name))
	}
	return ""
}

// logfileSource is the Sources key of the i-th logfile's path.
func logfileSource(i int) string {
	return fmt.Sprintf("%s/%s/%d/path", eventlogBlock, logfileBlock, i)
}

// ExpandHome expands a leading "~" to the home directory, as the
// original's path datatypes do.
func ExpandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return home + p[1:]
		}
	}
	return p
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
