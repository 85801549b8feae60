package manager

import (
	"context"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/zdaemon/zdaemon/core/backoff"
	"github.com/zdaemon/zdaemon/core/controlproto"
)

// Handover is the supervisor's state as a manager that upgrades in place
// hands it to the next one (see core/handover). Only a manager whose
// program is up, or waits in back-off, hands over.
type Handover struct {
	// State is "running" or "backoff".
	State string `json:"state"`
	// Pid is the running program's pid.
	Pid int `json:"pid,omitempty"`
	// Started is when the program was last started (status "lasttime").
	Started time.Time `json:"started"`
	// ShouldBeUp is status "should_be_up".
	ShouldBeUp bool `json:"should_be_up"`
	// Backoff is the governor's current delay, whole seconds.
	Backoff int `json:"backoff"`
	// Restart is when a back-off ends.
	Restart time.Time `json:"restart,omitzero"`
	// ExitCode is the manager's exit status so far.
	ExitCode int `json:"exit_code"`
	// Signals are shutdown signals (numbers) that arrived during the
	// upgrade; the next manager acts on them.
	Signals []int `json:"signals,omitempty"`
	// History is the run history ("history", metrics); nil from a
	// manager that kept none.
	History *HandedHistory `json:"history,omitempty"`
	// StatusText is the program's last STATUS= text, with its sender
	// and when it came.
	StatusText string    `json:"status_text,omitempty"`
	StatusPid  int       `json:"status_pid,omitempty"`
	StatusTime time.Time `json:"status_time,omitzero"`
	// Waiters are the clients waiting in "await": the next manager
	// serves their requests on their connections, handed over.
	Waiters []Waiter `json:"waiters,omitempty"`
}

// Waiter is a client waiting in "await".
type Waiter struct {
	Line string        `json:"line"`
	Conn *net.UnixConn `json:"-"`
}

// Upgrader replaces the manager in place (zdaemon upgrade).
type Upgrader interface {
	// Check asks the new manager executable whether it can take over;
	// nil means it can. It runs off the loop.
	Check(ctx context.Context) error
	// Pause stops accepting control connections (they wait in the
	// socket's backlog for whoever serves it next) and waits a moment for
	// the requests of those accepted already; resume undoes it. It runs
	// off the loop (the accept loop, and those requests, may be waiting
	// for the loop); ctx is the upgrade request's.
	Pause(ctx context.Context) (resume func())
	// Exec hands everything over and re-executes the manager; it returns
	// only when that failed, and the manager then goes on. It runs on the
	// loop, so nothing changes meanwhile; handover is the state, to take
	// at the last moment.
	Exec(ctx context.Context, handover func() Handover) error
}

// upgrade answers "upgrade": the new executable is asked first, then the
// loop stops and hands over. The reply comes from the new manager (on the
// connection handed over) or, when there is none, from this one.
func (m *Manager) upgrade(ctx context.Context) string {
	if m.opts.Upgrader == nil {
		return controlproto.ReplyCannotUpgrade + "this manager was not started to be upgraded"
	}
	var why string
	if !m.call(ctx, func() { why = m.notUpgradable() }) {
		return ""
	}
	if why != "" {
		return controlproto.ReplyCannotUpgrade + why
	}
	if err := m.opts.Upgrader.Check(ctx); err != nil {
		return controlproto.ReplyCannotUpgrade + err.Error()
	}
	resume := m.opts.Upgrader.Pause(ctx)
	reply := ""
	m.call(context.WithoutCancel(ctx), func() {
		defer resume() // still here: the upgrade did not happen
		// Requests of connections accepted before the pause are served
		// first (an await among them is then handed over).
		m.servePending()
		if why := m.notUpgradable(); why != "" {
			reply = controlproto.ReplyCannotUpgrade + why
			return
		}
		var drained []os.Signal
		err := m.opts.Upgrader.Exec(ctx, func() Handover {
			s, d := m.handover()
			drained = d
			return s
		})
		for _, sig := range drained { // still here: they are ours again
			m.Shutdown(sig)
		}
		m.log.Error("upgrade failed: " + err.Error())
		reply = controlproto.ReplyCannotUpgrade + err.Error()
	})
	return reply
}

// servePending serves the requests already waiting for the loop. Loop
// goroutine only.
func (m *Manager) servePending() {
	for {
		select {
		case r := <-m.requests:
			m.handle(r)
			m.notifyWaiters()
		default:
			return
		}
	}
}

// notUpgradable says why the manager cannot hand over now; "" when it
// can. Loop goroutine only.
func (m *Manager) notUpgradable() string {
	switch m.state {
	case Running, Backoff:
		return ""
	case Starting:
		return "the program is starting; try again once it is up"
	case Stopping:
		return "the program is stopping"
	}
	return "the manager is " + m.state.String()
}

// handover takes the state, with the shutdown signals that arrived
// meanwhile (taken out of the loop's queue). Loop goroutine only.
func (m *Manager) handover() (Handover, []os.Signal) {
	s := Handover{
		State:      m.state.String(),
		Started:    m.lastStart,
		ShouldBeUp: m.shouldBeUp,
		Backoff:    m.gov.Backoff,
		ExitCode:   m.exitCode,
	}
	if m.proc != nil {
		s.Pid = m.proc.Pid()
	}
	s.History = m.hist.handover()
	s.StatusText, s.StatusPid, s.StatusTime = m.health.status, m.health.statusPid, m.health.statusTime
	if m.state == Backoff {
		s.Restart = m.deadline
	}
	for _, w := range m.waiters {
		if w.conn != nil {
			s.Waiters = append(s.Waiters, Waiter{Line: w.line, Conn: w.conn})
		}
	}
	var drained []os.Signal
	for {
		select {
		case sig := <-m.shutdown:
			drained = append(drained, sig)
			if ss, ok := sig.(syscall.Signal); ok {
				s.Signals = append(s.Signals, int(ss))
			} else {
				s.Signals = append(s.Signals, int(syscall.SIGTERM))
			}
			continue
		default:
		}
		return s, drained
	}
}

// restore takes over the state a previous manager handed over, instead of
// the first start. Loop goroutine only.
func (m *Manager) restore(s Handover) {
	m.shouldBeUp = s.ShouldBeUp
	m.gov = backoff.State{Backoff: s.Backoff}
	m.lastStart = s.Started
	m.exitCode = s.ExitCode
	m.hist.restore(s.History)
	m.health.status, m.health.statusPid, m.health.statusTime = s.StatusText, s.StatusPid, s.StatusTime
	switch {
	case s.State == Running.String() && m.opts.Adopt != nil:
		m.proc = m.opts.Adopt(s.Pid)
		m.state = Running
		// Its liveness checks and watchdog start over: the checks'
		// grace is counted from the program's start, long past; the
		// watchdog gets a whole period.
		m.runningChanged(true)
	default:
		m.state = Backoff
		m.arm(max(time.Until(s.Restart), 0))
	}
	for _, sig := range s.Signals {
		m.Shutdown(syscall.Signal(sig))
	}
}
