package command

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/zdaemon/zdaemon/core/config"
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
  transcript, logfile and the event log's files, and the user.

  -no-host-checks
      Skip the checks against this machine (for a file written for
      another one).

Exit status:
  0  the file is valid
  1  wrong arguments
  2  the file has errors`
}

func (c *ValidateCommand) Run(args []string) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	noHost := fs.Bool("no-host-checks", false, "")
	if err := fs.Parse(stripDashes(args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(c.Out, c.Help())
			return 0
		}
		fmt.Fprintln(c.Err, c.Help())
		return 1
	}
	file, code, ok := c.fileArg(fs.Args(), c.Help())
	if !ok {
		return code
	}
	cfg, files, diags := loadJob(file)
	if !diags.HasErrors() {
		if !*noHost {
			diags = append(diags, config.CheckHost(cfg)...)
		}
		var d describer
		_, more, err := resolveSink(cfg, false, &d)
		if err == nil {
			diags = append(diags, more...)
			_, more, err = resolveChecks(cfg, &d)
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
	fmt.Fprintf(c.Out, "%s: valid\n", file)
	return 0
}

// fileArg takes the one FILE argument of validate and convert: -h prints
// the help (exit 0), anything but one file prints it as a usage error
// (exit 1); ok says to go on.
func (m *Meta) fileArg(args []string, help string) (file string, code int, ok bool) {
	args = stripDashes(args)
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help"):
		fmt.Fprintln(m.Out, help)
		return "", 0, false
	case len(args) != 1:
		fmt.Fprintln(m.Err, help)
		return "", 1, false
	}
	return args[0], 0, true
}
