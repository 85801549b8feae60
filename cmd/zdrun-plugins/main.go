// Command zdrun-plugins is the manager with the plugin host: zdrun, the
// manager, becomes it (exec, same pid) for a job with plugins (a
// transcript sink, start tests), for "zdaemon validate"'s describe
// sessions and for the built-in plugins, which it serves itself when the
// plugin host re-executes it. Nobody runs it by hand.
//
//	zdrun-plugins --version            its version
//	zdrun-plugins --handoff            a manager spawned by "zdaemon start"
//	zdrun-plugins --attached           a manager in the foreground ("zdaemon run")
//	zdrun-plugins --upgraded FD        a manager that took over in place from the previous one ("zdaemon upgrade")
//	zdrun-plugins --can-adopt          whether it can take over the state record on descriptor 3
//	zdrun-plugins describe             plugin schemas and validation, for the client
//	zdrun-plugins plugin KIND NAME     a built-in plugin, started by the plugin host
//	zdrun-plugins metrics              a metrics snapshot (JSON on stdin) as Prometheus text
//	zdrun-plugins export nomad         a Nomad job for "zdaemon export nomad"
//
// The configuration arrives on descriptor 3 (see core/daemon).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/daemon"
	"github.com/zdaemon/zdaemon/core/earlysignals"
	"github.com/zdaemon/zdaemon/core/jobplugins"
	"github.com/zdaemon/zdaemon/core/supervisor"
)

const usage = `Usage: zdrun-plugins --handoff | --attached | --upgraded FD | --can-adopt | --version | describe | plugin KIND NAME | metrics | export nomad

  zdrun-plugins is the manager with the plugin host: zdrun hands it the
  jobs with plugins, the describe sessions of "zdaemon validate" and the
  built-in plugins. Run zdaemon instead.`

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

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	exe, err := daemon.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	plugins := jobplugins.Plugins{Exe: exe}
	switch {
	case len(args) == 1 && args[0] == "--version":
		fmt.Fprintln(stdout, daemon.BuildVersion())
		return 0
	case len(args) == 1 && (args[0] == "--handoff" || args[0] == "--attached"):
		cfg, n, err := daemon.ReadStart(args[0] == "--attached")
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
		return (&supervisor.Job{Config: cfg, Notifier: n, Stderr: stderr, Plugins: plugins, Signals: earlysignals.C}).Run(context.Background())
	case len(args) == 1 && args[0] == "--can-adopt":
		rec := os.NewFile(3, "state-record")
		defer rec.Close()
		return supervisor.CanAdopt(rec, stdout, daemon.BuildVersion(), true)
	case len(args) == 2 && args[0] == "--upgraded":
		in, cfg, err := supervisor.ReadHandover(args[1])
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
		return (&supervisor.Job{Config: cfg, Stderr: stderr, Plugins: plugins, Handover: in, Signals: earlysignals.C}).Run(context.Background())
	case len(args) == 1 && args[0] == "describe":
		if err := jobplugins.Describe(stdin, stdout, exe); err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
		return 0
	case len(args) == 1 && args[0] == "metrics":
		return renderMetrics(stdin, stdout, stderr)
	case len(args) == 2 && args[0] == "export" && args[1] == "nomad":
		return exportNomad(stdin, stdout, stderr)
	case len(args) == 3 && args[0] == "plugin":
		if jobplugins.ServePlugin(args[1], args[2]) {
			return 0
		}
	}
	fmt.Fprintln(stderr, usage)
	return 1
}
