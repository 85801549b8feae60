// Package manager is the supervisor: the state machine that starts the
// program, restarts it with back-off, stops it on request and answers the
// control protocol's commands.
//
// One goroutine (Run) owns every piece of state. Everything else talks to it
// through channels: control requests carry a reply channel, the child's exit
// arrives on its Done channel, timers and shutdown signals are events too.
// The (state, event) → action mapping is the table in table.go. An idle
// manager blocks in a single select and wakes up for nothing.
//
// The manager depends only on the small interfaces it defines (Starter,
// Proc), so its logic is tested against fakes with fake time.
package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zdaemon/zdaemon/core/backoff"
	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/control"
	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// Proc is a running program as the manager sees it.
type Proc interface {
	Pid() int
	// Done delivers the exit status once.
	Done() <-chan child.ExitStatus
	// Signal sends sig to the program, or to its process group.
	Signal(sig syscall.Signal, group bool) error
}

// Starter starts the program.
type Starter interface {
	Start() (Proc, error)
}

// StarterFunc adapts a function to Starter.
type StarterFunc func() (Proc, error)

// Start calls f.
func (f StarterFunc) Start() (Proc, error) { return f() }

// State is the supervisor's state.
type State int

// The states. Stopped is the state before the first start.
const (
	Stopped  State = iota // nothing started yet
	Starting              // spawned, within the start grace period
	Running               // up
	Stopping              // SIGTERM sent, waiting for the exit (then SIGKILL)
	Backoff               // waiting to restart after a crash
	Exiting               // the manager is done
	numStates
)

var stateNames = [numStates]string{"stopped", "starting", "running", "stopping", "backoff", "exiting"}

func (s State) String() string {
	if s < 0 || s >= numStates {
		return "state(" + strconv.Itoa(int(s)) + ")"
	}
	return stateNames[s]
}

// Prober runs the start tests of a freshly spawned program.
type Prober interface {
	// Probe closes the returned channel once every start test passed for
	// the program pid started at started; it gives up when ctx ends.
	Probe(ctx context.Context, pid int, started time.Time) <-chan struct{}
	// Idle says the program is up: resources of the tests may go.
	Idle()
}

// Options are the manager's collaborators beyond its configuration.
type Options struct {
	// Prober runs start tests; nil means the start grace period decides.
	Prober Prober
	Logger *slog.Logger
	// Reopen reopens the event log and transcript (reopen_transcript). It
	// runs on the requesting connection's goroutine, not the loop, so it
	// must be safe to call concurrently and bound its own waits.
	Reopen func() error
	// BeforeExit runs in the loop when the manager decides to exit, before
	// waiting clients get their replies: the place to close the control
	// socket so that a new manager can start at once.
	BeforeExit func()
	// Filename is reported in status (the resolved program path).
	Filename string
	// Plugins describes the running plugins, one line each ("plugins").
	Plugins func() []string
	// Sweep kills what is left of the program after a stop (descendants
	// that left its process group, or ignored the signals) and returns
	// their pids.
	Sweep func() []int
	// Upgrader replaces the manager in place ("upgrade"); nil refuses.
	Upgrader Upgrader
	// Restore is the state a previous manager handed over (an upgrade):
	// Run takes it over instead of starting the program; Adopt makes the
	// running program of it a Proc.
	Restore *Snapshot
	Adopt   func(pid int) Proc
	// Version is the manager's build version ("version").
	Version string
}

// Manager supervises one program.
type Manager struct {
	cfg     *config.Config
	starter Starter
	opts    Options
	log     *slog.Logger
	policy  backoff.Policy

	requests chan request
	shutdown chan os.Signal
	// exited is closed when Run returns: requests stop waiting for a loop
	// that is gone.
	exited chan struct{}

	// Owned by the Run goroutine.
	state      State
	shouldBeUp bool
	proc       Proc
	lastStart  time.Time
	gov        backoff.State
	timer      *time.Timer
	timerC     <-chan time.Time
	deadline   time.Time // when timerC fires, for status "delay"
	exitCode   int
	waiters    []*waiter
	// probeUp is closed when the start tests pass; nil when none run.
	probeUp     <-chan struct{}
	probeCancel context.CancelFunc
}

// New returns a manager for cfg. Call Run to start supervising.
func New(cfg *config.Config, starter Starter, opts Options) *Manager {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{
		cfg:        cfg,
		starter:    starter,
		opts:       opts,
		log:        logger,
		policy:     backoff.Policy{Limit: cfg.BackoffLimit, Forever: cfg.Forever},
		requests:   make(chan request),
		shutdown:   make(chan os.Signal, 1),
		exited:     make(chan struct{}),
		shouldBeUp: true,
	}
}

// Run supervises until the manager has nothing left to do: the program was
// stopped, exited with one of the exit codes, crashed too often, or the
// manager was told to shut down and the program is gone. It returns the
// manager's exit status.
func (m *Manager) Run(ctx context.Context) int {
	defer close(m.exited)
	if m.opts.Restore != nil {
		m.restore(*m.opts.Restore)
	} else {
		m.log.Info("daemon manager started")
		m.apply(event{kind: evStart})
	}
	for m.state != Exiting {
		var done <-chan child.ExitStatus
		if m.proc != nil {
			done = m.proc.Done()
		}
		select {
		case r := <-m.requests:
			m.handle(r)
		case st := <-done:
			m.apply(event{kind: evExit, status: st})
		case <-m.timerC:
			m.timerC = nil
			m.deadline = time.Time{}
			// An exit that is there as well wins (select picks at
			// random): a program that exited within its start grace was
			// never up, and one that exited before its stop timeout
			// needs no SIGKILL. The exit's action disarms or re-arms.
			select {
			case st := <-done:
				m.apply(event{kind: evExit, status: st})
			default:
				m.apply(event{kind: evTimer})
			}
		case <-m.probeUp:
			m.stopProbe()
			m.apply(event{kind: evProbe})
			m.opts.Prober.Idle()
		case sig := <-m.shutdown:
			m.apply(event{kind: evShutdown, signal: sig})
		case <-ctx.Done():
			m.apply(event{kind: evShutdown})
		}
		m.notifyWaiters()
	}
	m.disarm()
	m.stopProbe()
	m.log.Info("Exiting")
	return m.exitCode
}

// Shutdown asks the manager to stop the program and exit, as on SIGTERM.
func (m *Manager) Shutdown(sig os.Signal) {
	select {
	case m.shutdown <- sig:
	default:
	}
}

// State returns the current state; for tests, through the loop.
func (m *Manager) State() State {
	var s State
	m.call(context.Background(), func() { s = m.state })
	return s
}

// --- transitions --------------------------------------------------------

// sweep kills the program's leftovers and says so.
func (m *Manager) sweep() {
	if m.opts.Sweep == nil {
		return
	}
	if pids := m.opts.Sweep(); len(pids) > 0 {
		m.log.Warn(fmt.Sprintf("killed %d leftover process(es) of the program: %v", len(pids), pids))
	}
}

// stopProbe ends the start tests of the current program, if any run.
func (m *Manager) stopProbe() {
	if m.probeCancel != nil {
		m.probeCancel()
	}
	m.probeUp, m.probeCancel = nil, nil
}

func (m *Manager) signal(sig syscall.Signal) {
	if m.proc == nil {
		return
	}
	if err := m.proc.Signal(sig, m.cfg.SignalGroup); err != nil {
		m.log.Warn(fmt.Sprintf("send %v to pid %d: %v", sig, m.proc.Pid(), err))
	}
}

func (m *Manager) arm(d time.Duration) {
	m.disarm()
	if m.timer == nil {
		m.timer = time.NewTimer(d)
	} else {
		m.timer.Reset(d)
	}
	m.timerC = m.timer.C
	m.deadline = time.Now().Add(d)
}

func (m *Manager) disarm() {
	if m.timer != nil {
		m.timer.Stop()
	}
	m.timerC = nil
	m.deadline = time.Time{}
}

// --- control requests ---------------------------------------------------

type request struct {
	ctx context.Context
	fn  func()
	ok  chan struct{}
}

// call runs fn on the loop goroutine. It returns false when the manager
// has exited or ctx ended first.
func (m *Manager) call(ctx context.Context, fn func()) bool {
	r := request{ctx: ctx, fn: fn, ok: make(chan struct{})}
	select {
	case m.requests <- r:
	case <-ctx.Done():
		return false
	case <-m.exited:
		return false
	}
	select {
	case <-r.ok:
		return true
	case <-ctx.Done():
		return false
	case <-m.exited:
		return false
	}
}

func (m *Manager) handle(r request) {
	r.fn()
	close(r.ok)
}

// ownPid is the manager's pid, asked once: a status reply names it, and
// a Go process never changes its pid.
var ownPid = os.Getpid()

// status builds the status reply; loop goroutine only.
func (m *Manager) status() control.Status {
	s := control.Status{
		Running:      m.proc != nil,
		Now:          time.Now(),
		ShouldBeUp:   m.shouldBeUp,
		Delay:        m.deadline,
		Backoff:      m.gov.Backoff,
		LastTime:     m.lastStart,
		Manager:      ownPid,
		BackoffLimit: m.cfg.BackoffLimit,
		Filename:     m.opts.Filename,
		Args:         m.cfg.Program,
	}
	if m.proc != nil {
		s.Application = m.proc.Pid()
	}
	s.Testing = m.probeUp != nil
	return s
}

// Serve answers one control-protocol request. It implements
// control.Handler; replies are the original's texts.
func (m *Manager) Serve(ctx context.Context, req control.Request) string {
	// A command that was sent is carried out even when its client does
	// not stay for the reply (ctx also ends when the client hangs up).
	do := context.WithoutCancel(ctx)
	switch req.Name {
	case "status":
		return m.query(ctx, func() string { return m.status().Format() })
	case "start":
		return m.query(do, func() string { return m.apply(event{kind: evStart}) })
	case "stop":
		return m.query(do, func() string { return m.apply(event{kind: evStop}) })
	case "restart":
		return m.query(do, func() string { return m.apply(event{kind: evRestart}) })
	case "kill":
		arg := "15"
		if len(req.Args) > 0 {
			arg = req.Args[0]
		}
		n, err := strconv.Atoi(arg)
		if err != nil {
			return fmt.Sprintf("Bad signal %s", pyrepr.Str(arg))
		}
		return m.query(do, func() string { return m.kill(n) })
	case "reopen_transcript":
		// Not through the loop: it touches no supervisor state, and a
		// plugin that hangs must not stall the manager.
		if m.opts.Reopen != nil {
			if err := m.opts.Reopen(); err != nil {
				m.log.Error(fmt.Sprintf("reopen: %v", err))
			}
		}
		return ""
	case "await":
		return m.await(ctx, req.Args)
	case "upgrade":
		return m.upgrade(ctx)
	case "version":
		return m.opts.Version
	case "plugins":
		if m.opts.Plugins == nil {
			return "none"
		}
		lines := m.opts.Plugins()
		if len(lines) == 0 {
			return "none"
		}
		return strings.Join(lines, "\n")
	}
	return control.ReplyUnknown(req.Name)
}

// Quick reports the requests Serve answers at once, through the loop and
// never waiting on the program, a plugin or the client: the control server
// answers them without a goroutine of their own. It implements
// control.QuickHandler.
func (m *Manager) Quick(req control.Request) bool {
	switch req.Name {
	case "await", "reopen_transcript", "plugins", "upgrade":
		return false
	}
	return true
}

// query runs fn on the loop and returns its reply; "" when the manager is
// gone.
func (m *Manager) query(ctx context.Context, fn func() string) string {
	var reply string
	m.call(ctx, func() { reply = fn() })
	return reply
}

func (m *Manager) kill(n int) string {
	if m.proc == nil {
		return "Application not running"
	}
	if err := m.proc.Signal(syscall.Signal(n), false); err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			return fmt.Sprintf("Kill %d failed: %s", n, pyrepr.Errno(errno))
		}
		return fmt.Sprintf("Kill %d failed: %v", n, err)
	}
	return fmt.Sprintf("Signal %d sent", n)
}

// --- await: the event-driven replacement for polling --------------------

// waiter is a client blocked in "await" until cond holds.
type waiter struct {
	cond  func() bool
	reply chan string
	// line is the request and conn its connection, for an upgrade to
	// hand over.
	line string
	conn *net.UnixConn
}

// await implements "await up [PID]" (the program is up and its pid is not
// PID) and "await down" (no program is running). The reply is the status
// text once the condition holds, or "" if the manager exits first.
func (m *Manager) await(ctx context.Context, args []string) string {
	if len(args) == 0 || (args[0] != "up" && args[0] != "down") {
		return "Usage: await up [PID] | await down"
	}
	exclude := 0
	if args[0] == "up" && len(args) > 1 {
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return fmt.Sprintf("Bad pid %s", pyrepr.Str(args[1]))
		}
		exclude = n
	}
	w := &waiter{reply: make(chan string, 1), line: "await " + strings.Join(args, " "), conn: control.Conn(ctx)}
	if args[0] == "up" {
		w.cond = func() bool { return m.state == Running && m.proc != nil && m.proc.Pid() != exclude }
	} else {
		w.cond = func() bool { return m.proc == nil }
	}
	if !m.call(ctx, func() {
		m.waiters = append(m.waiters, w)
		m.notifyWaiters()
	}) {
		return ""
	}
	select {
	case s := <-w.reply:
		return s
	case <-ctx.Done():
		// The client went away (or the server shuts down): forget it, or
		// every interrupted "zdaemon wait" would stay in m.waiters for good.
		m.call(context.Background(), func() { m.dropWaiter(w) })
		return ""
	}
}

// dropWaiter forgets w; loop goroutine only.
func (m *Manager) dropWaiter(w *waiter) {
	m.waiters = slices.DeleteFunc(m.waiters, func(x *waiter) bool { return x == w })
}

// waiterCount returns how many clients wait in "await" (-1 once the manager
// has exited); through the loop, for tests.
func (m *Manager) waiterCount() int {
	n := -1
	m.call(context.Background(), func() { n = len(m.waiters) })
	return n
}

// notifyWaiters answers every waiter whose condition holds; when the
// manager is exiting, the rest get "" (their connection just closes).
func (m *Manager) notifyWaiters() {
	if len(m.waiters) == 0 {
		return
	}
	var status string
	kept := m.waiters[:0]
	for _, w := range m.waiters {
		switch {
		case w.cond():
			if status == "" {
				status = m.status().Format()
			}
			w.reply <- status
		case m.state == Exiting:
			w.reply <- ""
		default:
			kept = append(kept, w)
		}
	}
	clear(m.waiters[len(kept):])
	m.waiters = kept
}

// --- small helpers ------------------------------------------------------

// startError says in plain words why the program could not be started.
// Running out of a resource (descriptors, memory, processes) is said as
// the OS says it, "cannot start program: too many open files"; other
// errors keep their detail ("cannot start program: can't exec ...").
func startError(err error) string {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.EAGAIN} {
		if errors.Is(err, errno) {
			return fmt.Sprintf("cannot start program: %v", errno)
		}
	}
	return fmt.Sprintf("cannot start program: %v", err)
}
