package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/zdaemon/zdaemon/core/export"
	"github.com/zdaemon/zdaemon/core/jobfile"
	"github.com/zdaemon/zdaemon/core/zconfig"
)

// ExportCommand is "export systemd|nomad -C FILE": print the job as a
// systemd unit or a Nomad job that runs it with "zdaemon run".
type ExportCommand struct{ *Meta }

func (c *ExportCommand) Synopsis() string {
	return "Print the job as a systemd unit or a Nomad job"
}

func (c *ExportCommand) Help() string {
	return `Usage: zdaemon [options] export systemd|nomad [-C FILE]

  Prints the job of FILE (an HCL job file or a legacy ZConfig file; -C
  before the action works too, as do the other options) as a job of
  another engine that runs it with "zdaemon -C FILE run":

  systemd  a service unit (Type=notify: zdaemon tells systemd when the
           program is up), with the user, directory, umask and environment
           of the job, ExecReload running "zdaemon reload", and stop
           timeouts that leave zdaemon its stop-timeout.
  nomad    a Nomad job (JSON, for "nomad job run -json") for the exec
           driver, with the job file embedded and the start tests as
           Nomad service checks where Nomad has one.

  zdaemon keeps supervising inside either engine: transcript, back-off,
  exit codes and start tests work as with start.

Exit status:
  0  printed
  1  wrong arguments, or the job cannot be expressed there
  2  the job file has errors`
}

// ExportArgs are export's: the target engine and the job file ("" = the
// -C given before the action).
type ExportArgs struct {
	Target string
	File   string
}

func (c *ExportCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

// ParseArgs takes the target and -C FILE, after the target or before it.
func (c *ExportCommand) ParseArgs(args []string) (*ExportArgs, int) {
	fs := c.flagSet("export", c.Help)
	a := &ExportArgs{}
	fs.StringVar(&a.File, "C", "", "")
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		a.Target, args = args[0], args[1:]
	}
	if code, ok := c.parseFlags(fs, c.Help, args); !ok {
		return nil, code
	}
	rest := fs.Args()
	if a.Target == "" && len(rest) > 0 {
		a.Target, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		c.Ui.Error(c.Help())
		return nil, 1
	}
	switch a.Target {
	case "systemd", "nomad":
	case "":
		c.Ui.Error(c.Help())
		return nil, 1
	default:
		c.Ui.Error(fmt.Sprintf("Error: cannot export to %q: the targets are systemd and nomad\n", a.Target) + c.Help())
		return nil, 1
	}
	if a.File == "" && c.Opts.ConfigFile == "" {
		c.Ui.Error("Error: export needs a job file: -C FILE\n" + c.Help())
		return nil, 1
	}
	return a, 0
}

func (c *ExportCommand) RunContext(_ context.Context, a *ExportArgs) int {
	if a.File != "" {
		c.Opts.ConfigFile = a.File
	}
	if len(c.Opts.Settings) > 0 || len(c.Opts.Overrides) > 0 {
		c.Ui.Error("Error: export writes a job that runs the job file as it is: put the settings of the command line (-X and the other options) into the file")
		return 1
	}
	if err := c.setup(); err != nil {
		return c.exit(err)
	}
	// The plugin blocks are decoded and checked as start checks them; the
	// checks become the other engine's health checks.
	if err := c.sinkDiags(); err != nil {
		return c.exit(err)
	}
	client, err := c.clientPath()
	if err != nil {
		return c.exit(err)
	}
	cfg := *c.Cfg
	cfg.Checks, cfg.Sink = c.checks, c.sink
	job := export.Job{Config: &cfg, Client: client, File: c.Cfg.ConfigFile}
	switch a.Target {
	case "systemd":
		unit, err := export.Systemd(job)
		if err != nil {
			return c.exit(fmt.Errorf("cannot export %s to systemd: %w", job.File, err))
		}
		fmt.Fprint(c.Out, unit)
		return 0
	default:
		return c.exportNomad(job)
	}
}

// clientPath is this client as the exported job should run it: the path
// it was started by (a symlink such as /usr/local/bin/zdaemon stays one,
// so that an upgrade of the link target is picked up), made absolute.
func (c *ExportCommand) clientPath() (string, error) {
	p := c.Argv0
	if !strings.Contains(p, "/") {
		found, err := exec.LookPath(p)
		if err != nil {
			if p, err = os.Executable(); err != nil {
				return "", fmt.Errorf("cannot tell where zdaemon is installed: %w", err)
			}
			return p, nil
		}
		p = found
	}
	return filepath.Abs(p)
}

// exportNomad asks the plugin host's executable, which links Nomad's API
// types, to build the Nomad job ("zdrun-plugins export nomad", the request as JSON on its
// stdin); the job file goes along as HCL (a legacy file converted).
func (c *ExportCommand) exportNomad(job export.Job) int {
	src, err := jobfile.ReadFile(job.File)
	if err != nil {
		return c.exit(err)
	}
	if zconfig.LooksLegacy(src) {
		out, _, files, diags := translateLegacy(job.File, src)
		if diags.HasErrors() {
			writeDiags(c.Err, files, diags)
			return 2
		}
		src = out
	}
	req, err := json.Marshal(map[string]any{"config": job.Config, "client": job.Client, "file": job.File, "hcl": string(src)})
	if err != nil {
		return c.exit(err)
	}
	return c.runPluginHost(bytes.NewReader(req), "export", "nomad")
}
