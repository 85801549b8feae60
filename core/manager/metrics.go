package manager

import (
	"context"
	"encoding/json"
	"time"
)

// Snapshot is the job's metrics at one moment, taken in the loop: what
// "metrics-json" answers, and what package metrics renders for
// Prometheus. It is plain data (JSON), so that the lean manager needs no
// metrics library: the client has zdrun-plugins render it.
type Snapshot struct {
	State   string         `json:"state"`
	Up      bool           `json:"up"` // running and past its start tests
	Starts  int            `json:"starts"`
	Exits   map[string]int `json:"exits"` // by how runs ended (report.EndedExit, report.EndedSignal, ...)
	HasExit bool           `json:"has_exit"`
	// LastExitCode is the last ended run's status as a shell reports it:
	// its exit code, or 128 plus the signal that ended it.
	LastExitCode int       `json:"last_exit_code"`
	ProgramStart time.Time `json:"program_start,omitzero"` // of the current run
	ManagerStart time.Time `json:"manager_start"`
	BackoffCount int       `json:"backoff_count"`
	// BackoffDelay is the time left until the next start, in back-off.
	BackoffDelay time.Duration `json:"backoff_delay_ns"`
	// Checks are the liveness checks' states.
	Checks []CheckMetrics `json:"checks,omitempty"`
	// StartTests are how the start tests last passed (those that did).
	StartTests []StartTestMetrics `json:"start_tests,omitempty"`
	// Filled by Options.Extra: the job's parts and the manager process.
	SinkRestarts *int `json:"sink_restarts,omitempty"`
	// TranscriptBytes is what the sink wrote to its destination, across
	// its restarts (Options.SinkStatus); nil when unknown.
	TranscriptBytes *uint64        `json:"transcript_bytes,omitempty"`
	ControlRequests uint64         `json:"control_requests"`
	Process         ProcessFigures `json:"process"`
}

// CheckMetrics is one liveness check's state.
type CheckMetrics struct {
	Index          int    `json:"index"` // in Config.AllChecks, from 0
	Kind           string `json:"kind"`
	Tried          bool   `json:"tried"` // LastOK holds
	LastOK         bool   `json:"last_ok"`
	FailuresInARow int    `json:"failures_in_a_row"`
	Restarts       int    `json:"restarts"`
	// LastSeconds is how long the last try took.
	LastSeconds float64 `json:"last_seconds"`
}

// StartTestMetrics is how one start test last passed.
type StartTestMetrics struct {
	Index   int     `json:"index"` // in Config.AllChecks, from 0
	Kind    string  `json:"kind"`
	Seconds float64 `json:"seconds"` // from its first try to the end of the one that passed
	Tries   int     `json:"tries"`
}

// ProcessFigures are the manager process's own: what Prometheus's process
// collector reports, read by the manager itself.
type ProcessFigures struct {
	CPUSeconds    float64 `json:"cpu_seconds"`
	ResidentBytes int64   `json:"resident_bytes"`
	OpenFDs       int     `json:"open_fds"`
	MaxFDs        int     `json:"max_fds"`
}

// Snapshot takes the metrics snapshot through the loop; false when the
// loop is gone or ctx ended first.
func (m *Manager) Snapshot(ctx context.Context) (Snapshot, bool) {
	var s Snapshot
	ok := m.call(ctx, func() { s = m.snapshot() })
	if ok && m.opts.Extra != nil {
		m.opts.Extra(&s)
	}
	if ok && m.opts.SinkStatus != nil {
		if st, running := m.opts.SinkStatus(ctx); running && st.Known {
			n := st.BytesWritten
			s.TranscriptBytes = &n
		}
	}
	return s, ok
}

// snapshotJSON is the "metrics-json" reply.
func (m *Manager) snapshotJSON(ctx context.Context) string {
	s, ok := m.Snapshot(ctx)
	if !ok {
		return ""
	}
	out, _ := json.Marshal(s)
	return string(out)
}

func (m *Manager) snapshot() Snapshot {
	s := Snapshot{
		State:        m.state.String(),
		Up:           m.state == Running && m.probeUp == nil,
		Starts:       m.hist.starts,
		Exits:        make(map[string]int, len(m.hist.exits)),
		ManagerStart: managerStart,
		BackoffCount: m.gov.Backoff,
	}
	for k, v := range m.hist.exits {
		s.Exits[k] = v
	}
	if m.proc != nil {
		s.ProgramStart = m.lastStart
	}
	if r := m.hist.lastEnded(); r != nil {
		s.HasExit = true
		switch {
		case r.ExitCode != nil:
			s.LastExitCode = *r.ExitCode
		case r.signo != 0:
			s.LastExitCode = 128 + r.signo
		}
	}
	if m.state == Backoff && !m.deadline.IsZero() {
		s.BackoffDelay = max(0, time.Until(m.deadline))
	}
	for i, cc := range m.cfg.AllChecks() {
		if p, ok := m.startTests[i]; ok {
			s.StartTests = append(s.StartTests, StartTestMetrics{Index: i, Kind: checkName(cc), Seconds: p.took.Seconds(), Tries: p.tries})
		}
	}
	for _, ls := range m.health.live {
		s.Checks = append(s.Checks, CheckMetrics{Index: ls.check, Kind: ls.name, Tried: !ls.lastTry.IsZero(),
			LastOK: ls.lastOK, FailuresInARow: ls.failed, Restarts: ls.restarts, LastSeconds: ls.lastTook.Seconds()})
	}
	return s
}
