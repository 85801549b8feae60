// Command zdrun is zdaemon's manager executable, as zdrun was the
// original's: the manager that supervises one job, the plugin host and the
// built-in plugins. The zdaemon client runs it; nobody needs to by hand.
//
//	zdrun --handoff            a manager spawned by "zdaemon start"
//	zdrun --attached           a manager in the foreground ("zdaemon run")
//	zdrun describe             plugin schemas and validation, for the client
//	zdrun plugin KIND NAME     a built-in plugin, started by the plugin host
//	zdrun --exec-pid ...       sets WATCHDOG_PID (and the like) to its own
//	                           pid and executes the program (core/child)
//
// The configuration arrives on descriptor 3 (see core/daemon).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/daemon"
	"github.com/zdaemon/zdaemon/core/supervisor"
)

const usage = `Usage: zdrun --handoff | --attached | describe | plugin KIND NAME

  zdrun is zdaemon's manager executable: zdaemon runs it to supervise a
  job ("zdaemon start", "zdaemon run"), to check plugin blocks ("zdaemon
  validate") and to serve the built-in plugins. Run zdaemon instead.`

func main() {
	if len(os.Args) > 1 && os.Args[1] == child.TrampolineArg {
		os.Exit(child.Trampoline(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
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
	switch {
	case len(args) == 1 && args[0] == "--handoff":
		cfg, n, err := daemon.ReadHandoff()
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
		return (&supervisor.Job{Config: cfg, Notifier: n, Stderr: stderr, Exe: exe}).Run(context.Background())
	case len(args) == 1 && args[0] == "--attached":
		cfg, err := daemon.ReadConfig()
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
		return (&supervisor.Job{Config: cfg, Stderr: stderr, Exe: exe}).Run(context.Background())
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
