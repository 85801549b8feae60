package command

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/jobfile"
)

// ValidateCommand is "validate FILE": check a job file without running
// anything.
type ValidateCommand struct{ *Meta }

func (c *ValidateCommand) Synopsis() string { return "Check a job file without running anything" }
func (c *ValidateCommand) Help() string {
	return `Usage: zdaemon validate [options] FILE

  Reads the job file FILE (HCL, or a legacy ZConfig file) and reports every
  error in it, with the file, line, column and source line, without
  starting anything. Values are also checked against this machine, as
  start checks them: the directories of socket-name, directory,
  transcript, logfile and the event log's files, the user, and that the
  listen addresses are free (unless the job's own manager runs, which
  holds them).

  -no-host-checks
      Skip the checks against this machine (for a file written for
      another one).

Exit status:
  0  the file is valid
  1  wrong arguments
  2  the file has errors`
}

// ValidateArgs are validate's: the job file, and whether to skip the
// checks against this machine.
type ValidateArgs struct {
	File         string
	NoHostChecks bool
}

func (c *ValidateCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

// ParseArgs takes -no-host-checks and one FILE; anything else prints the
// help on stderr (exit 1).
func (c *ValidateCommand) ParseArgs(args []string) (*ValidateArgs, int) {
	fs := c.flagSet("validate", c.Help)
	a := &ValidateArgs{}
	fs.BoolVar(&a.NoHostChecks, "no-host-checks", false, "")
	file, code := c.fileArg(fs, c.Help, args)
	if file == "" {
		return nil, code
	}
	a.File = file
	return a, 0
}

func (c *ValidateCommand) RunContext(_ context.Context, a *ValidateArgs) int {
	job, files, diags := loadJob(a.File)
	if !diags.HasErrors() {
		if !a.NoHostChecks {
			diags = append(diags, jobfile.CheckHost(job)...)
			if len(job.Listen) > 0 && !c.jobRuns(job.Config) {
				diags = append(diags, jobfile.CheckListen(job.Config)...)
			}
		}
		var d describer
		_, more, err := resolveSink(job, false, &d)
		if err == nil {
			diags = append(diags, more...)
			_, more, err = resolveChecks(job, &d)
			diags = append(diags, more...)
		}
		d.close()
		if err != nil {
			fmt.Fprintf(c.Err, "Error: %v\n", err)
			return 1
		}
	}
	writeDiags(c.Err, files, diags)
	if diags.HasErrors() {
		return 2
	}
	fmt.Fprintf(c.Out, "%s: valid\n", a.File)
	return 0
}

// fileArg parses fs and takes the one FILE argument of validate and
// convert. An empty file ends the command with code: 0 after a help
// request, 1 after wrong arguments, with the help printed.
func (m *Meta) fileArg(fs *flag.FlagSet, help func() string, args []string) (file string, code int) {
	if code, ok := m.parseFlags(fs, help, args); !ok {
		return "", code
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		m.Ui.Error(help())
		return "", 1
	}
	return fs.Arg(0), 0
}

// jobRuns says whether a manager answers on cfg's control socket: the
// job's own manager, which holds its listen sockets.
func (m *Meta) jobRuns(cfg *config.Config) bool {
	sock, err := filepath.Abs(expandHome(cfg.SocketName))
	if err != nil {
		return false
	}
	saved := m.Socket
	defer func() { m.Socket = saved }()
	m.Socket = sock
	_, ok := m.probe()
	return ok || m.stalled != nil
}
