package manager

import (
	"encoding/json"
	"time"

	"github.com/zdaemon/zdaemon/core/report"
)

var managerStart = time.Now()

// info builds the status-json reply; loop goroutine only.
func (m *Manager) info() string {
	now := time.Now()
	st := m.status()
	in := report.Info{
		Schema:  report.StatusSchema,
		State:   m.state.String(),
		Pid:     st.Application,
		Testing: st.Testing,
		Manager: report.ManagerInfo{Pid: ownPid, Version: m.opts.Version, UptimeSeconds: now.Sub(managerStart).Seconds()},
		Program: m.cfg.Program,
		Starts:  m.hist.starts,
		Backoff: report.BackoffInfo{Count: m.gov.Backoff, Limit: m.cfg.BackoffLimit},
	}
	if in.Starts > 0 {
		in.Restarts = in.Starts - 1
	}
	if m.proc != nil {
		in.UptimeSeconds = now.Sub(m.lastStart).Seconds()
	}
	if m.state == Backoff && !m.deadline.IsZero() {
		next := m.deadline
		in.Backoff.NextStart = &next
		in.Backoff.DelaySeconds = max(0, next.Sub(now).Seconds())
	}
	if r := m.hist.lastEnded(); r != nil {
		last := r.Run
		in.LastExit = &last
	}
	in.Checks = []report.CheckInfo{}
	for i, c := range m.cfg.AllChecks() {
		ci := report.CheckInfo{Kind: c.Kind}
		for _, ls := range m.health.live {
			if ls.check != i {
				continue
			}
			li := &report.LivenessInfo{IntervalSeconds: ls.cfg.Interval.Seconds(), Failures: ls.cfg.Failures,
				FailuresInARow: ls.failed, LastOK: ls.lastOK, LastTrySeconds: ls.lastTook.Seconds(), LastMessage: ls.lastMsg, LastError: ls.lastErr,
				RestartsByFailed: ls.restarts}
			if !ls.lastTry.IsZero() {
				t := ls.lastTry
				li.LastTry = &t
			}
			if !ls.errAt.IsZero() {
				t := ls.errAt
				li.LastErrorTime = &t
			}
			ci.Liveness = li
		}
		in.Checks = append(in.Checks, ci)
	}
	if m.cfg.Watchdog > 0 {
		w := &report.WatchdogInfo{PeriodSeconds: m.cfg.Watchdog.Seconds(), Missed: m.health.missed}
		if !m.health.lastPing.IsZero() {
			t := m.health.lastPing
			w.LastPing = &t
		}
		in.Watchdog = w
	}
	in.StatusText = m.health.status
	if m.opts.Details != nil {
		in.Details = m.opts.Details()
	}
	if in.Listen == nil {
		in.Listen = []report.ListenInfo{}
	}
	if in.Plugins == nil {
		in.Plugins = []report.PluginInfo{}
	}
	out, _ := json.Marshal(in)
	return string(out)
}
