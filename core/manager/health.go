package manager

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/pyrepr"
	"github.com/zdaemon/zdaemon/core/report"
)

// What keeps a program honest while it is up: its liveness checks, its
// watchdog and what it says on the notification socket. All of it is
// owned by the loop, as the rest of the manager's state.

// Notice is one datagram on the notification socket ($NOTIFY_SOCKET),
// with the pid of its sender (from its credentials; 0 when unknown).
type Notice struct {
	Pid  int
	Text string
}

// Liveness runs the liveness checks of a program that is up.
type Liveness interface {
	// Watch tries, until ctx ends, each check that has a liveness block
	// (its index in Config.AllChecks) for the program pid started at
	// started: first after the block's grace plus one interval, then every
	// interval. report gets every try's outcome and how long it took;
	// Watch itself returns at once.
	Watch(ctx context.Context, pid int, started time.Time, report func(check int, healthy bool, message string, took time.Duration))
}

// MaxStatusText bounds the STATUS= text the manager keeps, in bytes.
const MaxStatusText = 256

// liveState is what the manager knows of one liveness check.
type liveState struct {
	check    int // index in Config.AllChecks
	name     string
	cfg      config.Liveness
	failed   int // consecutive failed tries of this run
	lastTry  time.Time
	lastTook time.Duration // how long the last try took
	lastOK   bool
	lastMsg  string
	errAt    time.Time // the last failed try, of any run
	lastErr  string
	restarts int
}

// liveTry is one outcome a liveness watch reports.
type liveTry struct {
	check   int
	healthy bool
	message string
	took    time.Duration
	at      time.Time
}

// health is the manager's liveness, watchdog and notification state.
type health struct {
	live        []*liveState
	tries       chan liveTry // of the current watch; nil when none runs
	cancelWatch context.CancelFunc

	watchdog  *time.Timer
	watchdogC <-chan time.Time
	lastPing  time.Time // the last WATCHDOG=1, forgotten when a new run is up
	missed    int

	status     string // the last STATUS= text, sanitised
	statusPid  int
	statusTime time.Time
}

// runningChanged starts what watches a program that is up, or stops it.
func (m *Manager) runningChanged(up bool) {
	h := &m.health
	if !up {
		if h.cancelWatch != nil {
			h.cancelWatch()
		}
		h.tries, h.cancelWatch = nil, nil
		if h.watchdog != nil {
			h.watchdog.Stop()
		}
		h.watchdogC = nil
		return
	}
	if h.live == nil {
		for i, cc := range m.cfg.AllChecks() {
			if cc.Liveness != nil {
				h.live = append(h.live, &liveState{check: i, name: checkName(cc), cfg: *cc.Liveness})
			}
		}
	}
	for _, ls := range h.live {
		ls.failed = 0
	}
	if m.opts.Liveness != nil && len(h.live) > 0 && m.proc != nil {
		ctx, cancel := context.WithCancel(context.Background())
		tries := make(chan liveTry)
		h.tries, h.cancelWatch = tries, cancel
		m.opts.Liveness.Watch(ctx, m.proc.Pid(), m.lastStart, func(check int, healthy bool, message string, took time.Duration) {
			select {
			case tries <- liveTry{check: check, healthy: healthy, message: message, took: took, at: time.Now()}:
			case <-ctx.Done():
			}
		})
	}
	h.lastPing = time.Time{}
	m.petWatchdog()
}

// petWatchdog starts the watchdog's period again.
func (m *Manager) petWatchdog() {
	h := &m.health
	if m.cfg.Watchdog <= 0 {
		return
	}
	if h.watchdog == nil {
		h.watchdog = time.NewTimer(m.cfg.Watchdog)
	} else {
		h.watchdog.Reset(m.cfg.Watchdog)
	}
	h.watchdogC = h.watchdog.C
}

// watchdogFired: a period passed without WATCHDOG=1.
func (m *Manager) watchdogFired() {
	m.health.watchdogC = nil
	m.apply(event{kind: evWatchdog, reason: fmt.Sprintf("sent no WATCHDOG=1 within %v", m.cfg.Watchdog)})
}

// liveTried counts one liveness try; failures in a row restart the program.
func (m *Manager) liveTried(t liveTry) {
	var ls *liveState
	for _, x := range m.health.live {
		if x.check == t.check {
			ls = x
		}
	}
	if ls == nil || m.state != Running {
		return
	}
	ls.lastTry, ls.lastOK, ls.lastMsg, ls.lastTook = t.at, t.healthy, t.message, t.took
	if t.healthy {
		if ls.failed > 0 {
			m.log.Info(fmt.Sprintf("liveness check %s passed again (%s)", ls.name, t.message))
		}
		ls.failed = 0
		return
	}
	ls.failed++
	ls.errAt, ls.lastErr = t.at, t.message
	if ls.failed < ls.cfg.Failures {
		m.log.Info(fmt.Sprintf("liveness check %s failed (%d of %d in a row): %s", ls.name, ls.failed, ls.cfg.Failures, t.message))
		return
	}
	ls.restarts++
	m.apply(event{kind: evUnhealthy, reason: fmt.Sprintf("liveness check %s failed %d times in a row (every %v), the last: %s", ls.name, ls.failed, ls.cfg.Interval, t.message)})
}

// notice handles a datagram of the notification socket. Only the
// program's own pid counts (systemd's NotifyAccess=main).
func (m *Manager) notice(n Notice) {
	if m.proc == nil || n.Pid != m.proc.Pid() {
		m.log.Debug(fmt.Sprintf("ignored a notification from pid %d (not the program)", n.Pid))
		return
	}
	if f, ok := m.opts.Reloader.(noticeFollower); ok {
		f.Feed(n.Text)
	}
	p := parseNotice(n.Text)
	if p.status != nil {
		m.health.status, m.health.statusPid, m.health.statusTime = *p.status, n.Pid, time.Now()
	}
	if p.ready && m.state == Starting && m.opts.Relay != nil {
		m.opts.Relay(n.Text)
	}
	if p.watchdog && m.state == Running {
		m.health.lastPing = time.Now()
		m.petWatchdog()
	}
	if p.trigger {
		m.apply(event{kind: evWatchdog, reason: "sent WATCHDOG=trigger"})
	}
}

// parsedNotice is what a notification says, line by line (sd_notify(3)).
type parsedNotice struct {
	ready, watchdog, trigger bool
	status                   *string
}

func parseNotice(text string) parsedNotice {
	var p parsedNotice
	for _, line := range strings.Split(text, "\n") {
		switch {
		case line == "READY=1":
			p.ready = true
		case line == "WATCHDOG=1":
			p.watchdog = true
		case line == "WATCHDOG=trigger":
			p.trigger = true
		case strings.HasPrefix(line, "STATUS="):
			s := sanitizeStatus(strings.TrimPrefix(line, "STATUS="))
			p.status = &s
		}
	}
	return p
}

// sanitizeStatus makes a program's STATUS= text safe to keep and show:
// valid UTF-8, control characters as spaces, at most MaxStatusText bytes
// (cut at a character, marked with "…").
func sanitizeStatus(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	if len(s) <= MaxStatusText {
		return s
	}
	cut := MaxStatusText - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// failUnhealthy: the liveness check failed too often; stop the program
// as a stop does (SIGTERM, stop-timeout, SIGKILL), then restart it after
// the back-off of a crash.
func (m *Manager) failUnhealthy(ev event) (State, string) {
	m.log.Error(fmt.Sprintf("pid %d: %s; restarting the program", m.proc.Pid(), ev.reason))
	m.failedBy = report.EndedLiveness
	m.terminate()
	return Failing, ""
}

// failWatchdog: the watchdog expired; SIGABRT to the program (so it
// can dump its state), then as a stop: stop-timeout, SIGKILL, and the
// back-off of a crash.
func (m *Manager) failWatchdog(ev event) (State, string) {
	m.health.missed++
	m.failedBy = report.EndedWatchdog
	m.log.Error(fmt.Sprintf("watchdog: pid %d %s; sending SIGABRT and restarting the program", m.proc.Pid(), ev.reason))
	m.stopProbe()
	if err := m.proc.Signal(sigabrt, false); err != nil {
		m.log.Warn(fmt.Sprintf("send SIGABRT to pid %d: %v", m.proc.Pid(), err))
	}
	m.disarm()
	if m.cfg.StopTimeout > 0 {
		m.arm(m.cfg.StopTimeout)
	}
	return Failing, ""
}

// exitedFailing: the program the manager stopped for failing is gone;
// what is left of its process group goes too, and the restart waits as
// after a crash (the governor), without the exit-code check: the exit
// status is the manager's doing.
func (m *Manager) exitedFailing(ev event) (State, string) {
	p := m.proc
	if m.cfg.SignalGroup {
		if err := p.Signal(sigkill, true); err != nil {
			m.log.Warn(fmt.Sprintf("kill process group %d: %v", p.Pid(), err))
		}
	}
	m.disarm()
	m.sweep()
	return m.backoff(p.Pid(), ev.status, nil), ""
}

// shutdownFailing: the manager is told to exit while it stops a
// failing program: SIGTERM too (after SIGABRT the program may linger),
// and the stop goes on.
func (m *Manager) shutdownFailing(ev event) (State, string) {
	m.logKilled(ev.signal)
	m.shouldBeUp = false
	m.exitCode = 1
	m.signalled = true
	m.signal(m.stopSignal())
	return Stopping, ""
}

// healthReport is the "health" reply: what the manager knows of the
// program's liveness, watchdog and status text, one line each; "none"
// when nothing applies.
func (m *Manager) healthReport() string {
	h := &m.health
	now := time.Now()
	ago := func(t time.Time) string {
		return pyrepr.Float(now.Sub(t).Round(time.Millisecond).Seconds()) + "s ago"
	}
	var lines []string
	if h.status != "" {
		lines = append(lines, fmt.Sprintf("status: %s (pid %d, %s)", pyrepr.Str(h.status), h.statusPid, ago(h.statusTime)))
	}
	if m.cfg.Watchdog > 0 {
		last := "none yet"
		if !h.lastPing.IsZero() {
			last = ago(h.lastPing)
		}
		lines = append(lines, fmt.Sprintf("watchdog: every %v; last WATCHDOG=1 %s; missed %d time(s)", m.cfg.Watchdog, last, h.missed))
	}
	for _, ls := range h.live {
		s := fmt.Sprintf("liveness %s: every %v, restart after %d failures; %d failed in a row", ls.name, ls.cfg.Interval, ls.cfg.Failures, ls.failed)
		if !ls.lastTry.IsZero() {
			outcome := "passed"
			if !ls.lastOK {
				outcome = "failed"
			}
			s += fmt.Sprintf("; last try %s %s", ago(ls.lastTry), outcome)
		}
		if !ls.errAt.IsZero() {
			s += fmt.Sprintf("; last failure %s: %s", ago(ls.errAt), ls.lastErr)
		}
		s += fmt.Sprintf("; restarted the program %d time(s)", ls.restarts)
		lines = append(lines, s)
	}
	if len(lines) == 0 {
		return "none"
	}
	return strings.Join(lines, "\n")
}

// checkName names a check in the event log and in show: its kind, and
// an external plugin's path.
func checkName(cc config.CheckConfig) string {
	if cc.Plugin != "" {
		return cc.Kind + " (" + cc.Plugin + ")"
	}
	return cc.Kind
}
