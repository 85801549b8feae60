package command

import (
	"context"
	"fmt"
	"os"

	"github.com/zdaemon/zdaemon/core/daemon"
	"github.com/zdaemon/zdaemon/core/resolve"
)

// RunCommand runs the manager in the foreground: "zdaemon -C job.hcl run"
// supervises under systemd or in a container, with errors on the
// terminal. The client replaces itself with the manager executable, which
// gets the effective configuration as a started manager does.
type RunCommand struct{ *Meta }

func (c *RunCommand) Synopsis() string { return "Run the daemon manager in the foreground" }
func (c *RunCommand) Help() string {
	return `Usage: zdaemon [options] run [ARGS...]

  Runs the daemon manager in the foreground: it supervises the program,
  serves the control socket and exits when the program is stopped. The
  start action runs it detached; use run directly under a service manager
  such as systemd (Type=notify: it sends READY=1 once the program is up)
  or as a container's entry point (as pid 1 it reaps every orphan). The
  program's output goes to the transcript when one is set, else to run's
  own stdout and stderr.

  The words after run are appended to the program's arguments, as start's
  are (put -- before a word such as -h that is meant for the program).

Exit status:
  0    the program was stopped, or exited with one of the exit codes 0
  1    start-up failed, or the program restarted too often
  N    the program exited with N, one of the exit codes
  N    SIGTERM, SIGINT or SIGHUP stopped the job: the program's status,
       128+S when signal S ended it (143 after SIGTERM), as docker shows`
}

// RunArgs are run's: the words appended to the program.
type RunArgs struct {
	Extra []string
}

func (c *RunCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

// ParseArgs takes the program's words, as start's.
func (c *RunCommand) ParseArgs(args []string) (*RunArgs, int) {
	return &RunArgs{Extra: words(args)}, 0
}

// RunContext replaces this process with the manager executable, attached:
// the job as the command line and file say, in the foreground, program
// words after "run" appended.
func (c *RunCommand) RunContext(_ context.Context, a *RunArgs) int {
	if err := c.sinkDiags(); err != nil {
		return c.exit(err)
	}
	if err := c.listenDiags(); err != nil {
		return c.exit(err)
	}
	cfg := *c.Cfg
	cfg.Program = append(append([]string(nil), c.Cfg.Program...), a.Extra...)
	cfg.SocketName = c.Socket
	cfg.Daemon, cfg.Foreground = false, true
	cfg.Sink, cfg.Checks = c.sink, c.checks
	file, err := c.resolveProgram()
	if err != nil {
		return c.exit(usagef("%s", resolve.Message(err)))
	}
	cfg.Filename = file
	exe, err := managerExecutable()
	if err != nil {
		fmt.Fprintf(c.Err, "Error: %v\n", err)
		return 1
	}
	err = daemon.Exec(exe, []string{attachedFlag}, os.Environ(), &cfg)
	fmt.Fprintf(c.Err, "Error: %v\n", err)
	return 1
}

// The manager executable's modes: started by a client, or run by hand.
const (
	handoffFlag  = "--handoff"
	attachedFlag = "--attached"
)
