// Package supervisor assembles and runs one job from its configuration:
// the event log, the control server and the keeper of its socket, the
// reaper, the transcript pipe and its sink, the notification endpoints and
// start tests, and the manager loop, run as one group. It is what the
// manager executables (zdrun, and zdrun-plugins with Plugins) run; the
// client never links it.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/oklog/run"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/control"
	"github.com/zdaemon/zdaemon/core/controlproto"
	"github.com/zdaemon/zdaemon/core/daemon"
	"github.com/zdaemon/zdaemon/core/eventlog"
	"github.com/zdaemon/zdaemon/core/handover"
	"github.com/zdaemon/zdaemon/core/manager"
	"github.com/zdaemon/zdaemon/core/ontime"
	"github.com/zdaemon/zdaemon/core/pyrepr"
	"github.com/zdaemon/zdaemon/core/report"
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
	// Plugins starts the transcript sink and the start tests; nil runs
	// only jobs without them (see daemon.NeedsPlugins).
	Plugins Plugins
	// Handover is what a previous manager handed over (zdrun --upgraded);
	// nil for a fresh start.
	Handover *handover.In
	// Signals, when set, already receives the shutdown signals, or is
	// being subscribed to them (package earlysignals: an upgraded manager
	// subscribes before anything else, a fresh one while it reads its job).
	Signals chan os.Signal
}

// Run is the manager's life: set the process up, listen, supervise, clean
// up; it returns the manager's exit status. Cancelling ctx stops the job
// as SIGTERM does.
func (j *Job) Run(ctx context.Context) int {
	cfg, n, stderr, plugins, in := j.Config, j.Notifier, j.Stderr, j.Plugins, j.Handover
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
	// The manager's work is one loop and short-lived connections, which
	// the control server's accept loop answers on a thread of its own,
	// blocked in epoll_wait. Two Ps: with one, the runtime takes the P
	// from that blocked thread and wakes its monitor thread to give it
	// back on every request (measured: 14.2k round trips/s with one P,
	// 17.2k with two, for 260 KB more). GOMAXPROCS still wins; the client
	// starts the manager with it set (daemon.ManagerProcs).
	if !daemon.RestoreEnv() && os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(daemon.ManagerProcs)
	}
	if plugins == nil && daemon.NeedsPlugins(cfg) {
		return fail(1, "Error: "+errNoPlugins.Error())
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
	// The plugins' sockets: in the job's directory for them, now that
	// the control socket is ours, removed when the plugins are gone (the
	// deferred calls below, which stop them, run before).
	var socketDir string
	if plugins != nil && daemon.RunsPlugins(cfg) {
		pdir, err := openPluginDir(cfg.SocketName)
		if err != nil {
			log.Error(err.Error())
			return fail(1, "Error: "+err.Error())
		}
		if in == nil { // an upgraded manager keeps its sink's socket
			if err := pdir.clean(); err != nil {
				log.Warn(err.Error())
			}
		}
		defer func() {
			if err := pdir.remove(); err != nil {
				log.Warn(err.Error())
			}
		}()
		socketDir = pdir.path
	}

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
	penv := PluginEnv{Reaper: reaper, Log: log, SocketDir: socketDir}
	// The transcript (daemon mode only, as the original): the program's
	// output and the manager's own stdout and stderr go into a pipe that a
	// sink plugin drains; the manager keeps a read end open for as long as
	// it lives, so the program never gets a broken pipe.
	var tr *transcriptPipe
	if cfg.Sink != nil && (cfg.Daemon || cfg.Foreground) {
		tr, err = startTranscript(pctx, plugins, penv, cfg, cfg.Daemon, in, adopted)
		if err != nil {
			log.Error(err.Error())
			return fail(1, "Error: "+pluginMessage(err))
		}
		defer tr.finish(log)
	}

	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return slices.ContainsFunc(inheritedEnv, func(prefix string) bool { return strings.HasPrefix(kv, prefix) })
	})

	// Start tests, with the notification channels the manager keeps.
	checks, err := startChecks(pctx, plugins, penv, cfg, in)
	if err != nil {
		log.Error(err.Error())
		return fail(1, "Error: "+pluginMessage(err))
	}
	defer checks.close()
	notifyPath := ""
	if checks.notify != nil {
		notifyPath = checks.notify.path
	}
	extraEnv, pidEnv := runEnv(cfg, notifyPath)
	env = append(env, extraEnv...)
	// The exec trampoline (zdexec) sits beside this executable: it sets
	// LISTEN_PID and WATCHDOG_PID to the program's own pid.
	exe, err := daemon.Executable()
	if err != nil {
		return fail(1, "Error: "+err.Error())
	}
	held, lerr := holdListen(cfg, exe, checks.progFiles, in)
	if lerr != nil {
		log.Error(lerr.msg)
		if n != nil {
			n.FailAt(1, lerr.source, lerr.msg)
			return 1
		}
		return fail(1, lerr.msg)
	}
	defer held.close()
	env = held.env(env)
	progFiles := held.files(checks.progFiles)
	tramp := held.trampoline
	if tramp != "" {
		pidEnv = append(pidEnv, "LISTEN_PID")
	} else if len(pidEnv) > 0 {
		tramp = filepath.Join(filepath.Dir(exe), Trampoline)
		if st, err := os.Stat(tramp); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			msg := fmt.Sprintf("Error: cannot find the exec trampoline %s next to %s (it sets WATCHDOG_PID for a program with a watchdog); install it beside zdrun", Trampoline, exe)
			log.Error(msg)
			return fail(1, msg)
		}
	}
	prober := checks.prober
	var out, errOut *os.File
	switch {
	case tr != nil:
		out, errOut = tr.w, tr.w
	case !cfg.Daemon: // attached: the program writes to the terminal
		out, errOut = os.Stdout, os.Stderr
	}
	starter := manager.StarterFunc(func() (manager.Proc, error) {
		checks.drainStale()
		return reaper.Start(child.Spec{
			Path:        cfg.Filename,
			Argv:        cfg.Program,
			Env:         env,
			Stdout:      out,
			Stderr:      errOut,
			Extra:       progFiles,
			DeathSignal: syscall.SIGKILL,
			PidEnv:      pidEnv,
			Trampoline:  tramp,
		})
	})
	var probe manager.Prober
	var liveness manager.Liveness
	if prober != nil {
		probe = prober
		if cfg.HasLiveness() {
			liveness = prober
		}
	}
	// A manager in the foreground under a service manager tells it when
	// the job is ready (Type=notify).
	var onChange func(manager.State, controlproto.Status)
	// The client that started a daemon waits on the hand-off for the
	// program to be up (daemon.Manager.AwaitUp).
	var onUp func(string)
	if n != nil && cfg.Daemon {
		onUp = n.Up
	}
	if n == nil {
		if sn := newServiceNotifier(log); sn != nil {
			defer sn.close()
			onChange = sn.changed
		}
	}
	// reload follows the program's RELOADING=1 and READY=1 when it
	// speaks the notify protocol (a built-in notify check, socket form).
	var reloader manager.Reloader
	if checks.notifyCheck {
		reloader = manager.NewNoticeReloader()
	}
	version := daemon.BuildVersion()
	up := &upgrader{exe: exe, version: version, from: in.From(), reaper: reaper, log: log, sockets: sockets}
	up.registerParts(cfg, elog, tr, checks, held)
	var restore *manager.Handover
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
	nudge, err := ontime.New()
	if err != nil {
		log.Debug(fmt.Sprintf("the manager's timers may fire up to 1 ms late: %v", err))
	}
	defer nudge.Close()
	// The client that started this manager learns it is ready once the
	// loop has spawned the program (Options.Began); it then waits on the
	// hand-off for the program to be up when it is a daemon's.
	ready := func() {
		n.Ready()
		if onUp == nil {
			n.Close()
		}
	}
	// The metrics endpoint's listener, once bound below.
	var metricsL net.Listener
	mgr := manager.New(cfg, starter, manager.Options{
		Began:    ready,
		Nudge:    nudge,
		Upgrader: up,
		Restore:  restore,
		Adopt:    func(int) manager.Proc { return program },
		Logger:   log,
		Prober:   probe,
		Reloader: reloader,
		Reopen: func(ctx context.Context) error {
			err := elog.Reopen()
			if tr != nil {
				ctx, cancel := context.WithTimeout(ctx, reopenTimeout)
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
		// What the job's next manager binds is let go of before the
		// control socket, which that one may start on at once.
		BeforeExit: func() {
			held.close()
			checks.unlinkNotify()
			if metricsL != nil {
				_ = metricsL.Close()
			}
			sockets.closeAll()
		},
		Filename:   cfg.Filename,
		Version:    daemon.BuildVersion(),
		OnChange:   onChange,
		Up:         onUp,
		Details:    func() report.Details { return details(cfg, tr, held) },
		Extra:      func(s *manager.Snapshot) { extra(s, tr, sockets) },
		SinkStatus: sinkStatus(tr),
		Liveness:   liveness,
		Notices:    checks.notices(),
		Relay:      checks.relay,
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
	// The metrics endpoint, when asked for (bound now, so that an address
	// in use is a start-up error); the control socket's metrics-json
	// answers either way.
	var groups []func(*run.Group)
	if cfg.Metrics != nil {
		l, err := listenMetrics(in, cfg.Metrics.Address)
		if err != nil {
			msg := fmt.Sprintf("metrics endpoint %s: %v", cfg.Metrics.Address, err)
			log.Error(msg)
			return fail(1, "Error: "+msg)
		}
		up.parts.Add("metrics endpoint", func(out *handover.Out) error { return handMetrics(out, l) })
		metricsL = l
		groups = append(groups, func(g *run.Group) {
			mctx, stop := context.WithCancel(context.Background())
			g.Add(func() error {
				if err := plugins.ServeMetrics(mctx, l, mgr.Snapshot, log); err != nil && !errors.Is(err, net.ErrClosed) { // closed by BeforeExit
					log.Error(fmt.Sprintf("metrics endpoint: %v", err))
				}
				<-mctx.Done()
				return nil
			}, func(error) { stop() })
		})
	}
	return runGroup(ctx, mgr, sockets, cfg.SocketName, maxConns, log, up, j.Signals, client, groups...)
}

// extra adds the job's parts and the manager process's own figures to a
// metrics snapshot.
func extra(s *manager.Snapshot, tr *transcriptPipe, sockets *socketKeeper) {
	if tr != nil {
		n := tr.sink.Restarts()
		s.SinkRestarts = &n
	}
	s.ControlRequests = sockets.requests()
	s.Process = processFigures()
}

// details are the job's parts for "status -json".
func details(cfg *config.Config, tr *transcriptPipe, held *heldSockets) report.Details {
	var d report.Details
	if held.set != nil {
		for i, sock := range held.set.Sockets() {
			d.Listen = append(d.Listen, report.ListenInfo{Name: sock.Name, Address: sock.Spec.Address, FD: 3 + i})
		}
	}
	if cfg.Sink != nil {
		d.Transcript = &report.TranscriptInfo{Path: cfg.Transcript, Sink: cfg.Sink.Kind}
		if p, ok := cfg.Sink.Settings["path"].(string); ok {
			d.Transcript.Path = p
		}
	}
	if tr != nil {
		pi := report.PluginInfo{Kind: "transcript", Name: cfg.Sink.Kind, Path: cfg.Sink.Plugin, Restarts: tr.sink.Restarts()}
		if pids := tr.sink.Pids(); len(pids) > 0 {
			pi.Pid = pids[0]
		}
		d.Plugins = append(d.Plugins, pi)
	}
	return d
}

// programWords says what an upgraded manager took over.
func programWords(s *manager.Handover) string {
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
func runGroup(ctx context.Context, mgr *manager.Manager, sockets *socketKeeper, path string, maxConns int, log *slog.Logger, up *upgrader, sigc chan os.Signal, client *os.File, more ...func(*run.Group)) int {
	var g run.Group
	code := 1
	for _, add := range more {
		add(&g)
	}
	g.Add(func() error {
		code = mgr.Run(context.Background())
		return nil
	}, func(error) {
		mgr.Shutdown(syscall.SIGTERM) // the loop ends only by itself otherwise
	})

	// Signals, and the caller's ctx, shut the job down.
	if sigc == nil {
		sigc = make(chan os.Signal, 1)
	}
	// The program starts after this: its signals are subscribed by then,
	// whether or not earlysignals' own subscription of sigc has run yet.
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
		sockets.watch()
		<-wctx.Done()
		sockets.unwatch()
		return nil
	}, func(error) { stopWatch() })

	if client != nil {
		_, _ = io.WriteString(client, controlproto.UpgradeReply(os.Getpid(), up.version, up.from)+"\n")
		client.Close()
	}
	_ = g.Run()
	return code
}
