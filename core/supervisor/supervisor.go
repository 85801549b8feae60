// Package supervisor assembles and runs one job from its configuration:
// the event log, the control server and the keeper of its socket, the
// reaper, the transcript pipe and its sink, the notification endpoints and
// start tests, and the manager loop, run as one group. It is what the
// manager executable (zdrun) runs; the client never links it.
package supervisor

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

	"github.com/oklog/run"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/control"
	"github.com/zdaemon/zdaemon/core/daemon"
	"github.com/zdaemon/zdaemon/core/eventlog"
	"github.com/zdaemon/zdaemon/core/handover"
	"github.com/zdaemon/zdaemon/core/manager"
	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// Job is one job to supervise.
type Job struct {
	// Config is the effective configuration, plugin blocks resolved.
	Config *config.Config
	// Notifier reports the start-up to the client that spawned the
	// manager; nil when the manager runs by hand, and start-up messages
	// then go to Stderr.
	Notifier *daemon.Notifier
	Stderr   io.Writer
	// Exe is the manager executable, which serves the built-in plugins
	// and is re-executed by an upgrade.
	Exe string
	// Version is the manager's build version (show, upgrade).
	Version string
	// Handover is what a previous manager handed over (zdrun --upgraded);
	// nil for a fresh start.
	Handover *handover.In
	// Signals, when set, already receives the shutdown signals (an
	// upgraded manager subscribes before anything else).
	Signals chan os.Signal
}

// Run is the manager's life: set the process up, listen, supervise, clean
// up; it returns the manager's exit status. Cancelling ctx stops the job
// as SIGTERM does.
func (j *Job) Run(ctx context.Context) int {
	cfg, n, stderr, exe, in := j.Config, j.Notifier, j.Stderr, j.Exe, j.Handover
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
	elog, err := eventlog.OpenInherited(cfg.EventLog, os.Stdout, os.Stderr, adoptEventLog(in))
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
	srv, err := adoptControl(in, cfg.SocketName, onStale)
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
	if cfg.Daemon && in == nil {
		log.Info("daemonizing the process")
		if cfg.Directory != "" {
			log.Info(fmt.Sprintf("set current directory: %s", pyrepr.Str(cfg.Directory)))
		}
	}
	sockets := &socketKeeper{path: cfg.SocketName, servers: []*control.Server{srv}, log: log, onStale: onStale}
	defer sockets.closeAll()

	// The reaper runs before the group: the plugins below start (and may
	// die) before it, and the sink and checks stop after it, all children
	// of this process.
	reaper := child.NewReaper(log)
	adopted, err := adoptChildren(in, reaper)
	if err == nil {
		err = adoptWaiters(in, adopted, srv)
	}
	if err != nil {
		log.Error(fmt.Sprintf("cannot take over: %v", err))
		return fail(1, "Error: "+err.Error())
	}
	rctx, stopReaper := context.WithCancel(context.Background())
	reaped := make(chan struct{})
	go func() { defer close(reaped); reaper.Run(rctx) }()
	defer func() { stopReaper(); <-reaped }()
	// Plugins live until the job ends, not until ctx is cancelled: a
	// cancelled ctx stops the program first, as SIGTERM does.
	pctx, stopPlugins := context.WithCancel(context.Background())
	defer stopPlugins()
	// The transcript (daemon mode only, as the original): the program's
	// output and the manager's own stdout and stderr go into a pipe that a
	// sink plugin drains; the manager keeps a read end open for as long as
	// it lives, so the program never gets a broken pipe.
	var tr *transcriptPipe
	if cfg.Sink != nil && cfg.Daemon {
		tr, err = startTranscript(pctx, exe, cfg, reaper, log, in, adopted)
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
	checks, err := startChecks(pctx, exe, cfg, reaper, log, in)
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
	version := j.Version
	if version == "" {
		version = "unknown"
	}
	up := &upgrader{exe: exe, version: version, from: in.From(), reaper: reaper, log: log, sockets: sockets}
	up.registerParts(cfg, elog, tr, checks)
	var restore *manager.Snapshot
	var program manager.Proc
	client := in.File("client")
	if adopted != nil {
		restore = adopted.snap
		if adopted.program != nil {
			program = adopted.program
		}
		if names := in.Close(); len(names) > 0 {
			log.Warn(fmt.Sprintf("closed what the previous manager handed over and nothing took: %v", names))
		}
		log.Info(fmt.Sprintf("daemon manager upgraded from %s to %s (pid %d); supervising %s", in.From(), version, os.Getpid(), programWords(restore)))
	}
	mgr := manager.New(cfg, starter, manager.Options{
		Upgrader: up,
		Restore:  restore,
		Adopt:    func(int) manager.Proc { return program },
		Version:  version,
		Logger:   log,
		Prober:   probe,
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
	return runGroup(ctx, mgr, sockets, cfg.SocketName, maxConns, n, log, up, j.Signals, client)
}

// programWords says what an upgraded manager took over.
func programWords(s *manager.Snapshot) string {
	if s.State == manager.Running.String() {
		return fmt.Sprintf("program pid %d", s.Pid)
	}
	return "no program (back-off)"
}

// runGroup runs the job's long-lived parts as one group: the manager loop,
// the control servers, the watch on the socket's path and the signals. The
// manager loop ends the group: when it returns, the others are
// interrupted and the group waits for them.
//
// An upgraded manager answers the client that asked for the upgrade
// (client) once it serves.
func runGroup(ctx context.Context, mgr *manager.Manager, sockets *socketKeeper, path string, maxConns int, n *daemon.Notifier, log *slog.Logger, up *upgrader, sigc chan os.Signal, client *os.File) int {
	var g run.Group
	code := 1
	g.Add(func() error {
		if n != nil {
			n.Ready()
		}
		code = mgr.Run(context.Background())
		return nil
	}, func(error) {
		mgr.Shutdown(syscall.SIGTERM) // the loop ends only by itself otherwise
	})

	// Signals, and the caller's ctx, shut the job down.
	if sigc == nil {
		sigc = make(chan os.Signal, 1)
	}
	signal.Notify(sigc, upgradeSignals...)
	up.sigc, up.deliver = sigc, mgr.Shutdown
	stopSignals := make(chan struct{})
	g.Add(func() error {
		select {
		case sig := <-sigc:
			mgr.Shutdown(sig)
		case <-ctx.Done():
			mgr.Shutdown(syscall.SIGTERM)
		case <-stopSignals:
			return nil
		}
		<-stopSignals
		return nil
	}, func(error) {
		signal.Stop(sigc)
		close(stopSignals)
	})

	// The control servers: the first one, and any the keeper recreates.
	sctx, stopServers := context.WithCancel(context.Background())
	var servers sync.WaitGroup
	sockets.serve = func(srv *control.Server) {
		srv.Logger = log // refused peers and write errors reach the event log
		srv.MaxConns = maxConns
		servers.Go(func() {
			if err := srv.Serve(sctx, mgr); err != nil {
				log.Error(fmt.Sprintf("control socket: %v", err))
			}
		})
	}
	sockets.mu.Lock()
	sockets.serve(sockets.servers[0])
	sockets.mu.Unlock()
	g.Add(func() error {
		<-sctx.Done()
		servers.Wait()
		return nil
	}, func(error) {
		sockets.closeAll() // no server is added after this
		stopServers()
	})

	// A socket file deleted or replaced under the manager is recreated
	// (or, if something else now holds the path, reported): otherwise the
	// next start would run a second manager and a second program.
	wctx, stopWatch := context.WithCancel(context.Background())
	g.Add(func() error {
		if err := control.WatchPath(wctx, path, sockets.check); err != nil && wctx.Err() == nil {
			log.Warn(fmt.Sprintf("cannot watch the control socket: %v", err))
		}
		<-wctx.Done()
		return nil
	}, func(error) { stopWatch() })

	if client != nil {
		_, _ = io.WriteString(client, control.UpgradeReply(os.Getpid(), up.version, up.from)+"\n")
		client.Close()
	}
	_ = g.Run()
	return code
}
