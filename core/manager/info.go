package manager

import (
	"context"
	"encoding/json"
	"time"

	"github.com/zdaemon/zdaemon/core/report"
)

// SinkStatus is the transcript sink's report, asked off the loop
// (Options.SinkStatus).
type SinkStatus struct {
	// Known: the sink answered, and BytesWritten and Destination hold.
	Known        bool
	BytesWritten uint64
	Destination  string
	// Error is the sink's write error, or why it did not answer.
	Error string
}

// apply puts the sink's report into t.
func (st SinkStatus) apply(t *report.TranscriptInfo) {
	if st.Known {
		n := st.BytesWritten
		t.BytesWritten, t.Destination = &n, st.Destination
	}
	t.Error = st.Error
}

var managerStart = time.Now()

// statusJSON is the "status-json" reply: the loop's part, then the
// sink's report, asked off the loop (Options.SinkStatus bounds its wait).
func (m *Manager) statusJSON(ctx context.Context) string {
	var in report.Info
	if !m.call(ctx, func() { in = m.info() }) {
		return ""
	}
	if m.opts.SinkStatus != nil && in.Transcript != nil {
		if st, ok := m.opts.SinkStatus(ctx); ok {
			st.apply(in.Transcript)
		}
	}
	out, _ := json.Marshal(in)
	return string(out)
}

// info builds the status-json reply; loop goroutine only.
func (m *Manager) info() report.Info {
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
		if p, ok := m.startTests[i]; ok {
			at := p.at
			ci.StartTest = &report.StartTestInfo{LastPassed: &at, LastSeconds: p.took.Seconds(), LastTries: p.tries}
		}
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
	return in
}
