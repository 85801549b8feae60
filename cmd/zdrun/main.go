// Command zdrun is zdaemon's manager executable, as zdrun was the
// original's: the manager that supervises one job. The zdaemon client runs
// it; nobody needs to by hand.
//
//	zdrun --version            its version (status -json shows a manager's)
//	zdrun --handoff            a manager spawned by "zdaemon start"
//	zdrun --attached           a manager in the foreground ("zdaemon run")
//	zdrun --upgraded FD        a manager that took over in place from the previous one ("zdaemon upgrade"); the state record is on FD
//	zdrun --can-adopt          whether it can take over the state record on descriptor 3 (asked before an upgrade)
//	zdrun describe             plugin schemas and validation, for the client
//	zdrun plugin KIND NAME     a built-in plugin
//
// zdrun links no plugin stack (go-plugin, gRPC, protobuf), so that the
// manager of a job without plugins stays small. A job with plugins (a
// transcript sink, start tests), describe and the built-in plugins are
// the work of zdrun-plugins beside it, which this process becomes (exec,
// same pid, same descriptors) when it is given such work.
//
// The configuration arrives on descriptor 3 (see core/daemon).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/daemon"
	"github.com/zdaemon/zdaemon/core/earlysignals"
	"github.com/zdaemon/zdaemon/core/supervisor"
)

const usage = `Usage: zdrun --handoff | --attached | --upgraded FD | --can-adopt | --version | describe | plugin KIND NAME

  zdrun is zdaemon's manager executable: zdaemon runs it to supervise a
  job ("zdaemon start", "zdaemon run"), to check plugin blocks ("zdaemon
  validate") and to serve the built-in plugins. Run zdaemon instead.`

func init() {
	// Every child is forked by the main thread, and an upgrade's execve
	// runs on it (see core/child): main runs there.
	runtime.LockOSThread()
}

func main() {
	code, err := child.ServeMainThread(func() int { return run(os.Args[1:], os.Stdout, os.Stderr) })
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

func run(args []string, stdout, stderr io.Writer) int {
	exe, err := daemon.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	plugins := filepath.Join(filepath.Dir(exe), daemon.PluginsName)
	switch {
	case len(args) == 1 && args[0] == "--version":
		fmt.Fprintln(stdout, daemon.BuildVersion())
		return 0
	case len(args) == 1 && args[0] == "--can-adopt":
		rec := os.NewFile(3, "state-record")
		defer rec.Close()
		return supervisor.CanAdopt(rec, stdout, daemon.BuildVersion(), false)
	case len(args) == 2 && args[0] == "--upgraded":
		in, cfg, err := supervisor.ReadHandover(args[1])
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
		return (&supervisor.Job{Config: cfg, Stderr: stderr, Handover: in, Signals: earlysignals.C}).Run(context.Background())
	case len(args) == 1 && (args[0] == "--handoff" || args[0] == "--attached"):
		return manage(args, plugins, stderr)
	case len(args) == 1 && args[0] == "describe", len(args) == 3 && args[0] == "plugin":
		err := syscall.Exec(plugins, append([]string{plugins}, args...), os.Environ())
		fmt.Fprintln(stderr, forwardError(err, plugins))
		return 1
	}
	fmt.Fprintln(stderr, usage)
	return 1
}

// manage runs the job handed to this manager, or hands it on to
// zdrun-plugins (at plugins) when it has plugins.
func manage(args []string, plugins string, stderr io.Writer) int {
	cfg, n, err := daemon.ReadStart(args[0] == "--attached")
	if err == nil && !daemon.NeedsPlugins(cfg) {
		return (&supervisor.Job{Config: cfg, Notifier: n, Stderr: stderr, Signals: earlysignals.C}).Run(context.Background())
	}
	msg := "Error: " + fmt.Sprint(err)
	if err == nil {
		msg = forwardError(daemon.Forward(plugins, args, cfg, n), plugins)
	}
	if n != nil {
		n.Fail(1, msg)
	} else {
		fmt.Fprintln(stderr, msg)
	}
	return 1
}

// forwardError is what the user reads when zdrun-plugins, at path,
// could not take over.
func forwardError(err error, path string) string {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("Error: cannot find %s next to %s: it runs the jobs with plugins (a transcript file, start tests) and checks plugin blocks; build it beside zdrun (go build -o DIR/ ./cmd/zdaemon ./cmd/zdrun ./cmd/zdrun-plugins)", daemon.PluginsName, filepath.Join(filepath.Dir(path), "zdrun"))
	}
	return "Error: " + err.Error()
}
