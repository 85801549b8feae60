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
	"github.com/zdaemon/zdaemon/core/controlproto"
	"github.com/zdaemon/zdaemon/core/ontime"
	"github.com/zdaemon/zdaemon/core/pyrepr"
	"github.com/zdaemon/zdaemon/core/report"
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
	Failing               // stopping a program that failed its liveness check or watchdog; back-off follows
	numStates
)

var stateNames = [numStates]string{"stopped", "starting", "running", "stopping", "backoff", "exiting", "failing"}

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
	// passed gets each start test (its index in Config.AllChecks) as it
	// passes, before the channel closes: how long it took from its first
	// try to the end of the one that passed, and how many tries that was.
	Probe(ctx context.Context, pid int, started time.Time, passed func(check int, took time.Duration, tries int)) <-chan struct{}
	// Idle says the program is up: resources of the tests may go.
	Idle()
}

// Options are the manager's collaborators beyond its configuration.
type Options struct {
	// Prober runs start tests; nil means the start grace period decides.
	Prober Prober
	Logger *slog.Logger
	// Nudge wakes the runtime at the deadlines of the manager's timers
	// (the start grace, stop-timeout, back-off delays); nil: they fire up
	// to a millisecond late (package ontime). The caller closes it after
	// Run.
	Nudge *ontime.Nudge
	// Reopen reopens the event log and transcript (reopen_transcript). It
	// runs on the requesting connection's goroutine, not the loop, so it
	// must be safe to call concurrently and bound its own waits. Its ctx
	// ends when the manager exits (not when the client hangs up): an
	// exiting manager does not wait for a plugin that hangs in the call.
	Reopen func(ctx context.Context) error
	// BeforeExit runs in the loop when the manager decides to exit, before
	// waiting clients get their replies: the place to close the control
	// socket so that a new manager can start at once.
	BeforeExit func()
	// Filename is reported in status (the resolved program path).
	Filename string
	// Plugins describes the running plugins, one line each ("plugins").
	Plugins func() []string
	// Reloader follows the program's reload on its notification
	// socket; nil: reload only sends the signal.
	Reloader Reloader
	// Sweep kills what is left of the program after a stop (descendants
	// that left its process group, or ignored the signals) and returns
	// their pids.
	Sweep func() []int
	// Details are the job's parts for "status-json" (plugins, transcript).
	// It runs in the loop and must not block.
	Details func() report.Details
	// Extra completes a metrics snapshot with what the supervisor knows
	// (the sink's restarts, the process's figures); not in the loop.
	Extra func(*Snapshot)
	// SinkStatus asks the transcript sink for its report, for
	// "status-json" and "metrics-json"; not in the loop, and it bounds
	// its own wait (a sink that hangs or is being restarted answers
	// Known false). ok is false when no sink runs; nil without one.
	SinkStatus func(ctx context.Context) (st SinkStatus, ok bool)
	// Version is the manager executable's version, for "status-json".
	Version string
	// OnChange runs in the loop after an event changed the state, the
	// program's pid or whether start tests run (for a service manager's
	// readiness protocol). It must not block.
	OnChange func(State, controlproto.Status)
	// Began, when set, is called once in the loop after its first step:
	// the program has been spawned (or could not be), or the one handed
	// over adopted. The client that started the manager is told it is
	// ready then, so that its waking up does not compete with the
	// program's start for the CPU.
	Began func()
	// Up, when set, is told in the loop what "await up" would answer, the
	// first time it would (the status text), or "" when the manager exits
	// before the program was ever up: the client that started the manager
	// waits for it on its hand-off pipe instead of asking over the socket.
	// It must not block. It is not handed over to a next manager (that
	// client then asks the next manager over the socket).
	Up func(status string)
	// Liveness runs the liveness checks while the program is up; nil
	// when no check has a liveness block.
	Liveness Liveness
	// Notices are the datagrams of the notification socket; nil without
	// one. Relay passes a READY=1 of the program to the notify checks.
	Notices <-chan Notice
	Relay   func(text string)
	// Upgrader replaces the manager in place ("upgrade"); nil refuses.
	Upgrader Upgrader
	// Restore is the state a previous manager handed over (an upgrade):
	// Run takes it over instead of starting the program; Adopt makes the
	// running program of it a Proc.
	Restore *Handover
	Adopt   func(pid int) Proc
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
	// board is the status as of the loop's last step, for "status"
	// without a hop to the loop (see publish).
	board control.Board

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
	// signalled: a signal (or ctx) ended supervision; the manager exits
	// with the program's status once it is gone.
	signalled bool
	waiters   []*waiter
	// probeUp is closed when the start tests pass; nil when none run.
	probeUp     <-chan struct{}
	probeCancel context.CancelFunc
	// probePassed delivers each start test that passed (nil when none
	// run); startTests is how each last passed, by AllChecks index.
	probePassed <-chan startPass
	startTests  map[int]startPass
	reloadState reloadState
	health      health
	// failedBy is why the manager stopped a failing program
	// (report.EndedLiveness, report.EndedWatchdog), for the history of that run.
	failedBy string
	// seen is what OnChange was last told.
	seen seenState
	// hist remembers the runs, for "history" and "status-json".
	hist history
}

// seenState is what makes a change for Options.OnChange.
type seenState struct {
	state   State
	pid     int
	testing bool
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
	if m.opts.Up != nil {
		m.waiters = append(m.waiters, &waiter{cond: m.isUp(0), tell: m.opts.Up})
	}
	if m.opts.Restore != nil {
		m.restore(*m.opts.Restore)
	} else {
		m.log.Info("daemon manager started")
		m.apply(event{kind: evStart})
	}
	m.publish()
	m.changed()
	if m.opts.Began != nil {
		m.opts.Began()
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
		case p := <-m.probePassed:
			m.startTestPassed(p)
		case <-m.probeUp:
			m.stopProbe()
			m.apply(event{kind: evProbe})
			m.opts.Prober.Idle()
		case <-m.health.watchdogC:
			select { // as for the timer: an exit that is there wins
			case st := <-done:
				m.apply(event{kind: evExit, status: st})
			default:
				m.watchdogFired()
			}
		case t := <-m.health.tries:
			m.liveTried(t)
		case n := <-m.opts.Notices:
			m.notice(n)
		case sig := <-m.shutdown:
			m.apply(event{kind: evShutdown, signal: sig})
		case <-ctx.Done():
			m.apply(event{kind: evShutdown})
		}
		m.publish()
		m.notifyWaiters()
		m.checkReload()
		m.changed()
	}
	m.checkReload()
	m.disarm()
	m.stopProbe()
	m.log.Info("Exiting")
	return m.exitCode
}

// changed tells Options.OnChange about a new state, pid or test phase.
func (m *Manager) changed() {
	if m.opts.OnChange == nil {
		return
	}
	now := seenState{state: m.state, testing: m.probeUp != nil}
	if m.proc != nil {
		now.pid = m.proc.Pid()
	}
	if now == m.seen {
		return
	}
	m.seen = now
	m.opts.OnChange(m.state, m.status())
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
	m.probeUp, m.probeCancel, m.probePassed = nil, nil, nil
}

// startPass is a start test that passed: how long it took, in how many
// tries.
type startPass struct {
	check int
	took  time.Duration
	tries int
	at    time.Time
}

// startTestPassed keeps how a start test passed; loop goroutine only.
func (m *Manager) startTestPassed(p startPass) {
	if m.startTests == nil {
		m.startTests = map[int]startPass{}
	}
	m.startTests[p.check] = p
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
	m.opts.Nudge.After(d)
	m.timerC = m.timer.C
	m.deadline = time.Now().Add(d)
}

func (m *Manager) disarm() {
	if m.timer != nil && m.timer.Stop() {
		m.opts.Nudge.Stop()
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

// errExiting is the cause of a context that untilExit ended: the words
// a plugin call given up for it reports.
var errExiting = errors.New("the manager exits")

// untilExit is ctx ended also when Run returns (cause errExiting), for
// work done beside the loop that must not outlive the manager.
func (m *Manager) untilExit(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-m.exited:
			cancel(errExiting)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

func (m *Manager) handle(r request) {
	r.fn()
	m.publish() // before the reply: its client may ask "status" next
	close(r.ok)
}

// publish puts the current status on the board, or retires the board
// once the manager is exiting (a manager that exits answers nothing).
// The loop calls it after every step that may change state and before
// answering anything about that step. Loop goroutine only.
func (m *Manager) publish() {
	if m.state == Exiting {
		m.board.Retire()
		return
	}
	m.board.Publish(m.status())
}

// ownPid is the manager's pid, asked once: a status reply names it, and
// a Go process never changes its pid.
var ownPid = os.Getpid()

// status builds the status reply; loop goroutine only.
func (m *Manager) status() controlproto.Status {
	s := controlproto.Status{
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
		// From the board: no hop to the loop. Before the loop's first
		// step there is nothing on it yet, and the loop answers.
		if reply, ok := m.board.Reply(time.Now()); ok {
			return reply
		}
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
		// plugin that hangs must not stall the manager, nor keep it
		// once it exits (the control server waits for this handler).
		if m.opts.Reopen != nil {
			rctx, cancel := m.untilExit(do)
			defer cancel()
			if err := m.opts.Reopen(rctx); err != nil {
				m.log.Error(fmt.Sprintf("reopen: %v", err))
			}
		}
		return ""
	case "await":
		return m.await(ctx, req.Args)
	case "status-json":
		return m.statusJSON(ctx)
	case "metrics-json":
		return m.snapshotJSON(ctx)
	case "history":
		n := 20
		if len(req.Args) > 0 {
			v, err := strconv.Atoi(req.Args[0])
			if err != nil || v < 1 {
				return fmt.Sprintf("Bad count %s", pyrepr.Str(req.Args[0]))
			}
			n = v
		}
		return m.query(ctx, func() string { return m.hist.reply(n, time.Now()) })
	case "reload":
		return m.reload(ctx, req.Args)
	case "health":
		return m.query(ctx, m.healthReport)
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
	return controlproto.ReplyUnknown(req.Name)
}

// Quick reports the requests Serve answers at once, through the loop and
// never waiting on the program, a plugin or the client: the control server
// answers them without a goroutine of their own. It implements
// control.QuickHandler.
func (m *Manager) Quick(req control.Request) bool {
	switch req.Name {
	case "await", "reopen_transcript", "plugins", "reload", "metrics-json", "upgrade":
		return false
	case "status-json": // it asks the sink
		return m.opts.SinkStatus == nil
	}
	return true
}

// AppendQuick appends the reply to "status", from the board, to dst:
// the accept loop answers it with no allocation. Other requests, and a
// status before the loop's first step, are left to Serve. It implements
// control.QuickAppender.
func (m *Manager) AppendQuick(dst []byte, req control.Request) ([]byte, bool) {
	if req.Name != "status" {
		return dst, false
	}
	return m.board.AppendReply(dst, time.Now())
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
	// tell, when set, is told instead of reply (Options.Up).
	tell func(string)
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
		w.cond = m.isUp(exclude)
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

// isUp is the condition of "await up EXCLUDE": a program runs, past its
// start grace or tests, and its pid is not exclude.
func (m *Manager) isUp(exclude int) func() bool {
	return func() bool { return m.state == Running && m.proc != nil && m.proc.Pid() != exclude }
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
			w.answer(status)
		case m.state == Exiting:
			w.answer("")
		default:
			kept = append(kept, w)
		}
	}
	clear(m.waiters[len(kept):])
	m.waiters = kept
}

// answer gives a waiter its reply (it has a buffer of one, or tells).
func (w *waiter) answer(status string) {
	if w.tell != nil {
		w.tell(status)
		return
	}
	w.reply <- status
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

var (
	_ control.QuickHandler  = (*Manager)(nil)
	_ control.QuickAppender = (*Manager)(nil)
)
