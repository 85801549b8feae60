package manager

import (
	"context"
	"fmt"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/eventlog"
	"github.com/zdaemon/zdaemon/core/report"
	"github.com/zdaemon/zdaemon/core/signame"
)

// Event is the kind of something that happens to the manager.
type Event int

// The events.
const (
	evStart     Event = iota // control "start" (and the first start)
	evStop                   // control "stop"
	evRestart                // control "restart"
	evExit                   // the program exited
	evTimer                  // the armed timer fired
	evShutdown               // SIGTERM/SIGINT/SIGHUP to the manager
	evProbe                  // the start tests passed
	evUnhealthy              // a liveness check failed too often
	evWatchdog               // the watchdog expired, or the program triggered it
	numEvents
)

var eventNames = [numEvents]string{"start", "stop", "restart", "exit", "timer", "shutdown", "probe", "unhealthy", "watchdog"}

func (e Event) String() string {
	if e < 0 || e >= numEvents {
		return fmt.Sprintf("event(%d)", int(e))
	}
	return eventNames[e]
}

// event is one occurrence, with what its kind carries.
type event struct {
	kind Event
	// status is how the program ended (evExit).
	status child.ExitStatus
	// signal is what the manager got (evShutdown); nil when its context
	// ended instead.
	signal os.Signal
	// reason says what failed (evUnhealthy, evWatchdog).
	reason string
}

// action handles one event in the state its row fixes (it never tests the
// state again) and returns the next state and the control reply.
type action func(m *Manager, ev event) (State, string)

// cell is one entry of the table: the action and every state it may lead
// to, so that the table alone says where each (state, event) can go.
// TestTableCells checks each action against its list.
type cell struct {
	act  action
	next []State
}

// Where spawning leads: Starting, or, when the program cannot be executed
// (exit status 127, as in the original), where a crash leads.
var (
	crashes = []State{Backoff, Exiting}
	spawns  = []State{Starting, Backoff, Exiting}
	stays   = func(s State) []State { return []State{s} }
)

// table is the whole behaviour of the supervisor, read as
// table[state][event] (s6-supervise's actions[state][event]). An empty
// cell is an event that cannot change anything in that state: it is
// ignored.
var table = [numStates][numEvents]cell{
	Stopped: {
		evStart:    {(*Manager).startNow, spawns},
		evStop:     {(*Manager).stopIdle, stays(Exiting)},
		evRestart:  {(*Manager).startNow, spawns},
		evShutdown: {(*Manager).shutdownIdle, stays(Exiting)},
	},
	Starting: {
		evStart:    {alreadyStarted, stays(Starting)},
		evStop:     {(*Manager).stopRunning, stays(Stopping)},
		evRestart:  {(*Manager).restartRunning, stays(Stopping)},
		evExit:     {(*Manager).exitedUnasked, crashes},
		evTimer:    {(*Manager).up, stays(Running)},
		evProbe:    {(*Manager).up, stays(Running)},
		evShutdown: {(*Manager).shutdownRunning, stays(Stopping)},
	},
	Running: {
		evStart:     {alreadyStarted, stays(Running)},
		evStop:      {(*Manager).stopRunning, stays(Stopping)},
		evRestart:   {(*Manager).restartRunning, stays(Stopping)},
		evExit:      {(*Manager).exitedUnasked, crashes},
		evShutdown:  {(*Manager).shutdownRunning, stays(Stopping)},
		evUnhealthy: {(*Manager).failUnhealthy, stays(Failing)},
		evWatchdog:  {(*Manager).failWatchdog, stays(Failing)},
	},
	Stopping: {
		evStart:    {(*Manager).startWhileStopping, stays(Stopping)},
		evStop:     {(*Manager).stopAgain, stays(Stopping)},
		evRestart:  {(*Manager).restartWhileStopping, stays(Stopping)},
		evExit:     {(*Manager).exitedAsked, append([]State{Exiting}, spawns...)},
		evTimer:    {(*Manager).escalate, stays(Stopping)},
		evShutdown: {(*Manager).shutdownWhileStopping, stays(Stopping)},
	},
	Failing: {
		evStart:    {alreadyStarted, stays(Failing)},
		evStop:     {(*Manager).stopAgain, stays(Stopping)},
		evRestart:  {(*Manager).restartWhileStopping, stays(Stopping)},
		evExit:     {(*Manager).exitedFailing, crashes},
		evTimer:    {(*Manager).escalate, stays(Failing)},
		evShutdown: {(*Manager).shutdownFailing, stays(Stopping)},
	},
	Backoff: {
		evStart:    {(*Manager).startNow, spawns},
		evStop:     {(*Manager).stopIdle, stays(Exiting)},
		evRestart:  {(*Manager).startNow, spawns},
		evTimer:    {(*Manager).respawn, spawns},
		evShutdown: {(*Manager).shutdownIdle, stays(Exiting)},
	},
	Exiting: {
		evStart:   {managerExiting, stays(Exiting)},
		evStop:    {managerExiting, stays(Exiting)},
		evRestart: {managerExiting, stays(Exiting)},
	},
}

// apply runs the table's cell for ev in the current state and moves to
// the state the action chose.
func (m *Manager) apply(ev event) string {
	from := m.state
	c := table[from][ev.kind]
	if c.act == nil {
		m.log.Debug(fmt.Sprintf("ignored event %v in state %v", ev.kind, from))
		return ""
	}
	next, reply := c.act(m, ev)
	m.state = next
	if (from == Running) != (next == Running) {
		m.runningChanged(next == Running)
	}
	if next != from {
		m.log.Debug(fmt.Sprintf("state %v -> %v on %v", from, next, ev.kind))
	}
	return reply
}

func alreadyStarted(m *Manager, _ event) (State, string) {
	m.shouldBeUp = true
	return m.state, "Application already started"
}

func managerExiting(*Manager, event) (State, string) {
	return Exiting, "Manager exiting"
}

// startNow: a start request, or the back-off timer cut short by one.
func (m *Manager) startNow(event) (State, string) {
	m.shouldBeUp = true
	m.gov = m.gov.Reset()
	return m.spawn(), "Application started"
}

func (m *Manager) stopIdle(event) (State, string) {
	m.shouldBeUp = false
	m.gov = m.gov.Reset()
	return m.exit(0), "Application already stopped"
}

func (m *Manager) stopRunning(event) (State, string) {
	m.shouldBeUp = false
	m.gov = m.gov.Reset()
	return m.terminate(), "Sent SIGTERM"
}

// stopAgain: a stop while stopping repeats the signal; the stop timeout
// already runs.
func (m *Manager) stopAgain(event) (State, string) {
	m.shouldBeUp = false
	m.gov = m.gov.Reset()
	m.signal(m.stopSignal())
	return Stopping, "Sent SIGTERM"
}

func (m *Manager) restartRunning(event) (State, string) {
	m.shouldBeUp = true
	m.gov = m.gov.Reset()
	return m.terminate(), "Sent SIGTERM; will restart later"
}

func (m *Manager) restartWhileStopping(event) (State, string) {
	m.shouldBeUp = true
	m.gov = m.gov.Reset()
	m.signal(m.stopSignal())
	return Stopping, "Sent SIGTERM; will restart later"
}

// startWhileStopping keeps the stop going, and starts again afterwards.
func (m *Manager) startWhileStopping(event) (State, string) {
	m.shouldBeUp = true
	return Stopping, "Application already started"
}

// up: the program survived its start grace period, or passed its start
// tests.
func (m *Manager) up(event) (State, string) {
	return Running, ""
}

func (m *Manager) exitedUnasked(ev event) (State, string) {
	m.log.Debug(fmt.Sprintf("controlled process %d exited", m.proc.Pid()))
	return m.crashed(m.proc.Pid(), ev.status), ""
}

// exitedAsked: the exit we asked for. No back-off, no exit-code check; the
// rest of the process group goes too.
func (m *Manager) exitedAsked(ev event) (State, string) {
	p := m.proc
	m.log.Info(fmt.Sprintf("pid %d: %s", p.Pid(), ev.status))
	how := report.EndedStop
	switch {
	case m.signalled:
		how = report.EndedShutdown
	case m.shouldBeUp:
		how = report.EndedRestart
	}
	m.hist.ended(how, &ev.status, time.Now())
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
		return m.spawn(), ""
	}
	if m.signalled {
		// A manager stopped by a signal (docker stop, Ctrl-C) exits with
		// the program's status, as a container's init does.
		return m.exit(shellStatus(ev.status)), ""
	}
	return m.exit(m.exitCode), ""
}

// shellStatus is an exit status as a shell reports it: the code, or 128
// plus the signal that ended the process.
func shellStatus(st child.ExitStatus) int {
	if st.Signal != 0 {
		return 128 + int(st.Signal)
	}
	return st.Code
}

// escalate: stop-timeout passed; SIGKILL, repeated every backoff-limit
// seconds until the program is reaped.
func (m *Manager) escalate(event) (State, string) {
	m.log.Warn(fmt.Sprintf("pid %d did not stop within %v; sending SIGKILL", m.proc.Pid(), m.cfg.StopTimeout))
	m.signal(sigkill)
	m.arm(secs(m.cfg.BackoffLimit))
	return m.state, ""
}

func (m *Manager) respawn(event) (State, string) {
	return m.spawn(), ""
}

func (m *Manager) shutdownRunning(ev event) (State, string) {
	m.logKilled(ev.signal)
	m.shouldBeUp = false
	m.exitCode = 1
	m.signalled = true
	return m.terminate(), ""
}

// shutdownWhileStopping: the stop already under way (and its timeout)
// goes on; the manager exits once the program is gone.
func (m *Manager) shutdownWhileStopping(ev event) (State, string) {
	m.logKilled(ev.signal)
	m.shouldBeUp = false
	m.exitCode = 1
	m.signalled = true
	return Stopping, ""
}

func (m *Manager) shutdownIdle(ev event) (State, string) {
	m.logKilled(ev.signal)
	m.shouldBeUp = false
	return m.exit(1), ""
}

func (m *Manager) logKilled(sig os.Signal) {
	name := "context cancel"
	if sig != nil {
		name = signame.ManagerNameOf(sig)
	}
	m.log.Log(context.Background(), eventlog.LevelCritical, "daemon manager killed by "+name)
}

// --- what several actions do ---------------------------------------------

// spawn starts the program and returns Starting; a failure to exec counts
// as an exit with status 127, as in the original.
func (m *Manager) spawn() State {
	m.disarm()
	m.stopProbe()
	m.lastStart = time.Now()
	p, err := m.starter.Start()
	if err != nil {
		m.log.Error(startError(err))
		m.hist.started(0, m.lastStart)
		return m.crashed(0, child.ExitStatus{Code: 127})
	}
	m.hist.started(p.Pid(), m.lastStart)
	m.proc = p
	m.log.Info(fmt.Sprintf("spawned process pid=%d", p.Pid()))
	if m.opts.Prober != nil {
		ctx, cancel := context.WithCancel(context.Background())
		passed := make(chan startPass)
		m.probeCancel, m.probePassed = cancel, passed
		m.probeUp = m.opts.Prober.Probe(ctx, p.Pid(), m.lastStart, func(check int, took time.Duration, tries int) {
			select {
			case passed <- startPass{check: check, took: took, tries: tries, at: time.Now()}:
			case <-ctx.Done():
			}
		})
		return Starting
	}
	m.arm(m.cfg.StartGrace)
	return Starting
}

// crashed handles an exit that nobody asked for (pid 0: the program could
// not be executed): governor first, then the exit codes, as the original.
func (m *Manager) crashed(pid int, st child.ExitStatus) State {
	return m.backoff(pid, st, m.cfg.ExitCodes)
}

// backoff: the governor's delay before the next start (or giving up),
// then exitCodes end the manager instead.
func (m *Manager) backoff(pid int, st child.ExitStatus, exitCodes []int) State {
	m.proc = nil
	m.stopProbe()
	how := report.EndedExit
	switch {
	case pid == 0:
		how = report.EndedExecFailed
	case st.Signal != 0:
		how = report.EndedSignal
	}
	if m.failedBy != "" { // the manager stopped it for failing
		how, m.failedBy = m.failedBy, ""
	}
	m.hist.ended(how, &st, time.Now())
	dec, gov := m.policy.Next(m.gov, time.Since(m.lastStart))
	m.gov = gov
	if dec.GiveUp {
		m.log.Log(context.Background(), eventlog.LevelCritical, "restarting too frequently; quit")
		return m.exit(1)
	}
	m.log.Info(fmt.Sprintf("sleep %d to avoid rapid restarts", int(dec.Delay/time.Second)))
	code := st.Code
	if slices.Contains(exitCodes, code) {
		m.log.Info(fmt.Sprintf("pid %d: %s; exiting now", pid, st))
		if code < 0 {
			code = 255
		}
		return m.exit(code)
	}
	m.log.Info(fmt.Sprintf("pid %d: %s", pid, st))
	m.hist.delayed(dec.Delay)
	m.arm(dec.Delay)
	return Backoff
}

// terminate sends the stop signal, arms the stop timeout and returns
// Stopping.
func (m *Manager) terminate() State {
	m.stopProbe()
	m.signal(m.stopSignal())
	m.disarm()
	if m.cfg.StopTimeout > 0 {
		m.arm(m.cfg.StopTimeout)
	}
	return Stopping
}

// exit ends supervision with code and returns Exiting.
func (m *Manager) exit(code int) State {
	m.exitCode = code
	m.disarm()
	// Before anyone hears "stopped": nothing of the program outlives it.
	m.sweep()
	if m.opts.BeforeExit != nil {
		m.opts.BeforeExit()
	}
	return Exiting
}

const (
	sigkill = syscall.SIGKILL
	sigabrt = syscall.SIGABRT
)

// stopSignal is what stop, restart and shutdown send: stop-signal,
// SIGTERM by default.
func (m *Manager) stopSignal() syscall.Signal {
	if m.cfg.StopSignal != 0 {
		return m.cfg.StopSignal
	}
	return syscall.SIGTERM
}

func secs(n int) time.Duration { return time.Duration(max(n, 1)) * time.Second }
