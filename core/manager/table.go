package manager

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/eventlog"
	"github.com/zdaemon/zdaemon/core/signame"
)

// Event is something that happens to the manager.
type Event int

// The events.
const (
	evStart    Event = iota // control "start" (and the first start)
	evStop                  // control "stop"
	evRestart               // control "restart"
	evExit                  // the program exited (arg: child.ExitStatus)
	evTimer                 // the armed timer fired
	evShutdown              // SIGTERM/SIGINT/SIGHUP to the manager (arg: os.Signal or nil)
	evProbe                 // the start tests passed
	numEvents
)

var eventNames = [numEvents]string{"start", "stop", "restart", "exit", "timer", "shutdown", "probe"}

func (e Event) String() string {
	if e < 0 || e >= numEvents {
		return fmt.Sprintf("event(%d)", int(e))
	}
	return eventNames[e]
}

// action handles one event in one state and returns the control reply.
type action func(m *Manager, arg any) string

// table is the whole behaviour of the supervisor, read as
// table[state][event] (s6-supervise's actions[state][event]). A nil entry
// is an event that cannot happen in that state and is ignored.
var table = [numStates][numEvents]action{
	Stopped: {
		evStart:    (*Manager).startNow,
		evStop:     (*Manager).stopIdle,
		evRestart:  (*Manager).startNow,
		evShutdown: (*Manager).shutdownIdle,
	},
	Starting: {
		evStart:    alreadyStarted,
		evStop:     (*Manager).stopRunning,
		evRestart:  (*Manager).restartRunning,
		evExit:     (*Manager).exitedUnasked,
		evTimer:    (*Manager).up,
		evProbe:    (*Manager).up,
		evShutdown: (*Manager).shutdownRunning,
	},
	Running: {
		evStart:    alreadyStarted,
		evStop:     (*Manager).stopRunning,
		evRestart:  (*Manager).restartRunning,
		evExit:     (*Manager).exitedUnasked,
		evShutdown: (*Manager).shutdownRunning,
	},
	Stopping: {
		evStart:    (*Manager).startWhileStopping,
		evStop:     (*Manager).stopRunning,
		evRestart:  (*Manager).restartRunning,
		evExit:     (*Manager).exitedAsked,
		evTimer:    (*Manager).escalate,
		evShutdown: (*Manager).shutdownRunning,
	},
	Backoff: {
		evStart:    (*Manager).startNow,
		evStop:     (*Manager).stopIdle,
		evRestart:  (*Manager).startNow,
		evTimer:    (*Manager).respawn,
		evShutdown: (*Manager).shutdownIdle,
	},
	Exiting: {
		evStart:   managerExiting,
		evStop:    managerExiting,
		evRestart: managerExiting,
	},
}

// apply runs the table entry for ev in the current state.
func (m *Manager) apply(ev Event, arg any) string {
	from := m.state
	act := table[from][ev]
	if act == nil {
		m.log.Debug(fmt.Sprintf("ignored event %v in state %v", ev, from))
		return ""
	}
	reply := act(m, arg)
	if m.state != from {
		m.log.Debug(fmt.Sprintf("state %v -> %v on %v", from, m.state, ev))
	}
	return reply
}

func alreadyStarted(m *Manager, _ any) string {
	m.shouldBeUp = true
	return "Application already started"
}

func managerExiting(m *Manager, _ any) string {
	return "Manager exiting"
}

// startNow: a start request, or the back-off timer cut short by one.
func (m *Manager) startNow(_ any) string {
	m.shouldBeUp = true
	m.gov = m.gov.Reset()
	m.spawn()
	return "Application started"
}

func (m *Manager) stopIdle(_ any) string {
	m.shouldBeUp = false
	m.gov = m.gov.Reset()
	m.exit(0)
	return "Application already stopped"
}

func (m *Manager) stopRunning(_ any) string {
	m.shouldBeUp = false
	m.gov = m.gov.Reset()
	if m.state == Stopping {
		m.signal(sigterm)
		return "Sent SIGTERM"
	}
	m.terminate()
	return "Sent SIGTERM"
}

func (m *Manager) restartRunning(_ any) string {
	m.shouldBeUp = true
	m.gov = m.gov.Reset()
	if m.state == Stopping {
		m.signal(sigterm)
	} else {
		m.terminate()
	}
	return "Sent SIGTERM; will restart later"
}

// startWhileStopping keeps the stop going, and starts again afterwards.
func (m *Manager) startWhileStopping(_ any) string {
	m.shouldBeUp = true
	return "Application already started"
}

// up: the program survived its start grace period, or passed its start
// tests.
func (m *Manager) up(_ any) string {
	m.state = Running
	return ""
}

func (m *Manager) exitedUnasked(arg any) string {
	st := arg.(child.ExitStatus)
	p := m.proc
	m.log.Debug(fmt.Sprintf("controlled process %d exited", p.Pid()))
	m.crashed(p, st)
	return ""
}

// exitedAsked: the exit we asked for. No back-off, no exit-code check; the
// rest of the process group goes too.
func (m *Manager) exitedAsked(arg any) string {
	st := arg.(child.ExitStatus)
	p := m.proc
	m.log.Info(fmt.Sprintf("pid %d: %s", p.Pid(), st))
	if m.cfg.SignalGroup {
		if err := p.Signal(sigkill, true); err != nil {
			m.log.Warn(fmt.Sprintf("kill process group %d: %v", p.Pid(), err))
		}
	}
	m.proc = nil
	m.disarm()
	m.gov = m.gov.Reset()
	if m.shouldBeUp { // a restart: nothing of the old run goes on
		m.sweep()
		m.spawn()
		return ""
	}
	m.exit(m.exitCode)
	return ""
}

// escalate: stop-timeout passed; SIGKILL, repeated every backoff-limit
// seconds until the program is reaped.
func (m *Manager) escalate(_ any) string {
	m.log.Warn(fmt.Sprintf("pid %d did not stop within %v; sending SIGKILL", m.proc.Pid(), m.cfg.StopTimeout))
	m.signal(sigkill)
	m.arm(secs(m.cfg.BackoffLimit))
	return ""
}

func (m *Manager) respawn(_ any) string {
	m.spawn()
	return ""
}

func (m *Manager) shutdownRunning(arg any) string {
	m.logKilled(arg)
	m.shouldBeUp = false
	m.exitCode = 1
	if m.state != Stopping {
		m.terminate()
	}
	return ""
}

func (m *Manager) shutdownIdle(arg any) string {
	m.logKilled(arg)
	m.shouldBeUp = false
	m.exit(1)
	return ""
}

func (m *Manager) logKilled(arg any) {
	name := "context cancel"
	if sig, ok := arg.(os.Signal); ok && sig != nil {
		name = sig.String()
		if ss, ok := sig.(syscall.Signal); ok {
			name = signame.ManagerName(ss)
		}
	}
	m.log.Log(context.Background(), eventlog.LevelCritical, "daemon manager killed by "+name)
}

const (
	sigterm = syscall.SIGTERM
	sigkill = syscall.SIGKILL
)

func secs(n int) time.Duration { return time.Duration(max(n, 1)) * time.Second }
