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
	args = stripDashes(args)
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprintln(c.Out, c.Help())
		return 0
	}
	if len(args) != 1 {
		fmt.Fprintln(c.Err, c.Help())
		return 1
	}
	cfg, files, diags := loadJob(args[0])
	if !diags.HasErrors() {
		diags = append(diags, resolveSink(cfg, false, ownExecutable())...)
		diags = append(diags, resolveChecks(cfg, ownExecutable())...)
	}
	writeDiags(c.Err, files, diags)
	if diags.HasErrors() {
		return 2
	}
	fmt.Fprintf(c.Out, "%s: valid\n", args[0])
	return 0
}
