// Command zdrun is zdaemon's manager executable, as zdrun was the
// original's: the manager that supervises one job, the plugin host and the
// built-in plugins. The zdaemon client runs it; nobody needs to by hand.
//
//	zdrun --handoff            a manager spawned by "zdaemon start"
//	zdrun --attached           a manager in the foreground ("zdaemon run")
//	zdrun --upgraded FD        a manager that took over from the previous one in place ("zdaemon upgrade")
//	zdrun --can-adopt          whether it can take over the state record on descriptor 3 (asked before an upgrade)
//	zdrun --version            its build version
//	zdrun describe             plugin schemas and validation, for the client
//	zdrun plugin KIND NAME     a built-in plugin, started by the plugin host
//
// The configuration arrives on descriptor 3 (see core/daemon).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"

	"github.com/zdaemon/zdaemon/cmd/zdrun/internal/earlysignals"
	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/daemon"
	"github.com/zdaemon/zdaemon/core/handover"
	"github.com/zdaemon/zdaemon/core/supervisor"
)

const usage = `Usage: zdrun --handoff | --attached | describe | plugin KIND NAME

  zdrun is zdaemon's manager executable: zdaemon runs it to supervise a
  job ("zdaemon start", "zdaemon run"), to check plugin blocks ("zdaemon
  validate") and to serve the built-in plugins. Run zdaemon instead.`

// version is the build version; set it with
// -ldflags "-X main.version=1.2.3", else the VCS revision is used.
var version string

func init() {
	// Every child is forked by the main thread, and an upgrade's execve
	// runs on it (see core/child): main runs there.
	runtime.LockOSThread()
}

func main() {
	code, err := child.ServeMainThread(func() int { return run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr) })
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

// buildVersion is version, or the VCS revision the binary was built from.
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return info.Main.Version
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error: find the manager executable: %v\n", err)
		return 1
	}
	ver := buildVersion()
	switch {
	case len(args) == 1 && args[0] == "--handoff":
		cfg, n, err := daemon.ReadHandoff()
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
		return (&supervisor.Job{Config: cfg, Notifier: n, Stderr: stderr, Exe: exe, Version: ver}).Run(context.Background())
	case len(args) == 1 && args[0] == "--attached":
		cfg, err := daemon.ReadConfig()
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
		return (&supervisor.Job{Config: cfg, Stderr: stderr, Exe: exe, Version: ver}).Run(context.Background())
	case len(args) == 2 && args[0] == "--upgraded":
		return upgraded(args[1], stderr, exe, ver)
	case len(args) == 1 && args[0] == "--can-adopt":
		rec := os.NewFile(3, "state-record")
		if rec == nil {
			fmt.Fprintln(stdout, "no state record on descriptor 3")
			return 1
		}
		defer rec.Close()
		return supervisor.CanAdopt(rec, stdout, ver)
	case len(args) == 1 && args[0] == "--version":
		fmt.Fprintln(stdout, ver)
		return 0
	case len(args) == 1 && args[0] == "describe":
		if err := supervisor.Describe(stdin, stdout, exe); err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
		return 0
	case len(args) == 3 && args[0] == "plugin":
		if supervisor.ServePlugin(args[1], args[2]) {
			return 0
		}
	}
	fmt.Fprintln(stderr, usage)
	return 1
}

// upgraded is the manager a previous one re-executed in place: the state
// record is on descriptor fd.
func upgraded(fd string, stderr io.Writer, exe, ver string) int {
	n, err := strconv.Atoi(fd)
	if err != nil {
		fmt.Fprintf(stderr, "Error: bad state record descriptor %q\n", fd)
		return 1
	}
	in, err := handover.Read(n)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	cfg, err := supervisor.HandedConfig(in)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return (&supervisor.Job{Config: cfg, Stderr: stderr, Exe: exe, Version: ver, Handover: in, Signals: earlysignals.C}).Run(context.Background())
}
