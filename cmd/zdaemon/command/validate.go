package command

import (
	"fmt"
)

// ValidateCommand is "validate FILE": check a job file without running
// anything.
type ValidateCommand struct{ *Meta }

func (c *ValidateCommand) Synopsis() string { return "Check a job file without running anything" }
func (c *ValidateCommand) Help() string {
	return `Usage: zdaemon validate FILE

  Reads the job file FILE (HCL, or a legacy ZConfig file) and reports every
  error in it, with the file, line, column and source line, without
  starting anything.

Exit status:
  0  the file is valid
  1  wrong arguments
  2  the file has errors`
}

func (c *ValidateCommand) Run(args []string) int {
	file, code, ok := c.fileArg(args, c.Help())
	if !ok {
		return code
	}
	cfg, files, diags := loadJob(file)
	if !diags.HasErrors() {
		diags = append(diags, resolveSink(cfg, false, ownExecutable())...)
		diags = append(diags, resolveChecks(cfg, ownExecutable())...)
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
