package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/control"
	"github.com/zdaemon/zdaemon/core/daemon"
	"github.com/zdaemon/zdaemon/core/eventlog"
	"github.com/zdaemon/zdaemon/core/manager"
	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// RunCommand is the manager itself. A client starts it as
// "zdaemon run --handoff" with the effective configuration on a pipe; a
// user may run "zdaemon -C job.hcl run" to supervise in the foreground
// (under systemd or in a container), with errors on the terminal.
type RunCommand struct{ *Meta }

func (c *RunCommand) Synopsis() string { return "Run the daemon manager in the foreground" }
func (c *RunCommand) Help() string {
	return `Usage: zdaemon [options] run [ARGS...]

  Runs the daemon manager in the foreground: it supervises the program,
  serves the control socket and exits when the program is stopped. The
  start action runs it detached; use run directly under a service manager
  such as systemd (Type=simple) or as a container's entry point.

  The words after run are appended to the program's arguments, as start's
  are (put -- before a word such as -h that is meant for the program).

Exit status:
  0  the program was stopped, or exited with one of the exit codes 0
  1  start-up failed, the program restarted too often, or the manager was
     killed by SIGTERM, SIGINT or SIGHUP
  N  the program exited with N, one of the exit codes`
}

// RunArgs are run's: a hand-off from a client, or the words appended to
// the program.
type RunArgs struct {
	Handoff bool
	Extra   []string
}

func (c *RunCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

// ParseArgs takes --handoff first, or the program's words, as start's.
func (c *RunCommand) ParseArgs(args []string) (*RunArgs, int) {
	if len(args) > 0 && args[0] == handoffFlag {
		return &RunArgs{Handoff: true}, 0
	}
	return &RunArgs{Extra: words(args)}, 0
}

func (c *RunCommand) RunContext(_ context.Context, a *RunArgs) int {
	if a.Handoff {
		cfg, n, err := daemon.ReadHandoff()
		if err != nil {
			fmt.Fprintf(c.Err, "Error: %v\n", err)
			return 1
		}
		return runManager(cfg, n, c.Err)
	}
	// Started by hand: the job as the command line and file say, in the
	// foreground, program words after "run" appended.
	if err := c.sinkDiags(); err != nil {
		return c.exit(err)
	}
	cfg := *c.Cfg
	cfg.Program = append(append([]string(nil), c.Cfg.Program...), a.Extra...)
	cfg.SocketName = c.Socket
	cfg.Daemon = false
	file, err := c.resolveProgram()
	if err != nil {
		return c.exit(usagef("%s", child.Message(err)))
	}
	cfg.Filename = file
	return runManager(&cfg, nil, c.Err)
}

// runManager is the manager's life: set the process up, listen, supervise,
// clean up. Start-up failures go to the client through n (or to stderr when
// started by hand).
func runManager(cfg *config.Config, n *daemon.Notifier, stderr io.Writer) int {
	fail := func(code int, msg string) int {
		if n != nil {
			n.Fail(code, msg)
		} else {
			fmt.Fprintln(stderr, msg)
		}
		return code
	}
	warn := func(msg string) {
		if n != nil {
			n.Warn(msg)
		} else {
			fmt.Fprintln(stderr, msg)
		}
	}
	// The manager's work is one loop and short-lived connections: on one
	// P, handing a request from the connection to the loop and back needs
	// no cross-thread wake-up, which nearly doubles the control socket's
	// round trips per second (and saves memory). GOMAXPROCS still wins.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	if cfg.Daemon {
		// Before any file is created, so the event log gets it too.
		unix.Umask(cfg.Umask)
	}
	if err := daemon.CloseInherited(); err != nil {
		return fail(1, "Error: "+err.Error())
	}
	elog, err := eventlog.Open(cfg.EventLog, os.Stdout, os.Stderr)
	if err != nil {
		return fail(1, "Error: "+err.Error())
	}
	defer elog.Close()
	log := slog.New(elog.Handler())
	if err := daemon.BecomeSubreaper(); err != nil {
		log.Warn(err.Error())
	}
	onStale := func(path string) {
		msg := "Unlinking stale socket " + path
		log.Warn(msg)
		if cfg.EventLog == nil { // the default log already went to stderr
			warn(msg)
		}
	}
	srv, err := control.Listen(cfg.SocketName, onStale)
	if err != nil {
		var inUse *control.InUseError
		if errors.As(err, &inUse) {
			if n != nil {
				// A client started us and lost the race with a
				// concurrent start: it turns to the winner, and we
				// leave nothing behind but this line.
				log.Info(fmt.Sprintf("another manager already serves the control socket %s; leaving the job to it", cfg.SocketName))
				n.InUse(1, inUse.Error())
				return 1
			}
			log.Log(context.Background(), eventlog.LevelCritical, inUse.Error())
			return fail(1, inUse.Error())
		}
		log.Error(err.Error())
		return fail(1, "Error: "+err.Error())
	}
	// After the socket, as the original daemonizes after creating it (and
	// a manager that lost the race for the socket logs only that).
	if cfg.Daemon {
		log.Info("daemonizing the process")
		if cfg.Directory != "" {
			log.Info(fmt.Sprintf("set current directory: %s", pyrepr.Str(cfg.Directory)))
		}
	}
	sockets := &socketKeeper{path: cfg.SocketName, servers: []*control.Server{srv}, log: log, onStale: onStale}
	defer sockets.closeAll()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reaper := child.NewReaper(log)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { reaper.Run(ctx) })

	// The transcript (daemon mode only, as the original): the program's
	// output and the manager's own stdout and stderr go into a pipe that a
	// sink plugin drains; the manager keeps a read end open for as long as
	// it lives, so the program never gets a broken pipe.
	var tr *transcriptPipe
	if cfg.Sink != nil && cfg.Daemon {
		tr, err = startTranscript(ctx, cfg, reaper, log)
		if err != nil {
			log.Error(err.Error())
			return fail(1, "Error: "+pluginMessage(err))
		}
		defer tr.finish(log)
	}

	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "DAEMON_MANAGER_MODE=") || strings.HasPrefix(kv, "NOTIFY_SOCKET=")
	})

	// Start tests, with the notification channels the manager keeps.
	checks, err := startChecks(ctx, cfg, reaper, log)
	if err != nil {
		log.Error(err.Error())
		return fail(1, "Error: "+pluginMessage(err))
	}
	defer checks.close()
	env = append(env, checks.env...)
	prober := checks.prober
	var out, errOut *os.File
	switch {
	case !cfg.Daemon: // attached: the program writes to the terminal
		out, errOut = os.Stdout, os.Stderr
	case tr != nil:
		out, errOut = tr.w, tr.w
	}
	starter := manager.StarterFunc(func() (manager.Proc, error) {
		drainStale(checks.inputs)
		return reaper.Start(child.Spec{
			Path:        cfg.Filename,
			Argv:        cfg.Program,
			Env:         env,
			Stdout:      out,
			Stderr:      errOut,
			Extra:       checks.progFiles,
			DeathSignal: syscall.SIGKILL,
		})
	})
	var probe manager.Prober
	if prober != nil {
		probe = prober
	}
	mgr := manager.New(cfg, starter, manager.Options{
		Logger: log,
		Prober: probe,
		Reopen: func() error {
			err := elog.Reopen()
			if tr != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if terr := tr.sink.Reopen(ctx); terr != nil && err == nil {
					err = terr
				}
			}
			return err
		},
		Plugins: func() []string {
			var out []string
			if tr != nil {
				out = append(out, tr.sink.Info())
			}
			if prober != nil {
				out = append(out, prober.Info()...)
			}
			return out
		},
		Sweep: func() []int {
			var keep []int
			if tr != nil {
				keep = append(keep, tr.sink.Pids()...)
			}
			if prober != nil {
				keep = append(keep, prober.Pids()...)
			}
			killed, err := child.Sweep(os.Getpid(), keep)
			if err != nil {
				log.Warn(err.Error())
			}
			return killed
		},
		BeforeExit: sockets.closeAll,
		Filename:   cfg.Filename,
	})

	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigc)
	wg.Go(func() {
		select {
		case sig := <-sigc:
			mgr.Shutdown(sig)
		case <-ctx.Done():
		}
	})
	// Control connections never take the descriptors that spawning the
	// program, restarting a plugin or reaping need (see
	// daemon.DescriptorReserve); computed once, with everything
	// long-lived open.
	maxConns, err := daemon.ConnectionBudget(daemon.DescriptorReserve, control.DefaultMaxConns)
	if err != nil {
		log.Warn(err.Error())
	}
	if maxConns < control.DefaultMaxConns {
		log.Info(fmt.Sprintf("descriptors are scarce: at most %d control connections at once", maxConns))
	}
	sockets.serve = func(srv *control.Server) {
		srv.Logger = log // refused peers and write errors reach the event log
		srv.MaxConns = maxConns
		wg.Go(func() {
			if err := srv.Serve(ctx, mgr); err != nil {
				log.Error(fmt.Sprintf("control socket: %v", err))
			}
		})
	}
	sockets.serve(srv)
	// A socket file deleted or replaced under the manager is recreated
	// (or, if something else now holds the path, reported): otherwise the
	// next start would run a second manager and a second program.
	wg.Go(func() {
		if err := control.WatchPath(ctx, cfg.SocketName, sockets.check); err != nil {
			log.Warn(fmt.Sprintf("cannot watch the control socket: %v", err))
		}
	})
	if n != nil {
		n.Ready()
	}
	return mgr.Run(context.Background())
}
