package manager

import (
	"context"
	"encoding/json"
	"time"
)

// StatusSchema is the version of the "status-json" reply (zdaemon status
// -json). Fields are only ever added within one version, and each
// addition that clients may look for bumps it:
//
//	1  the first
//	2  transcript.bytes_written, .destination and .error (the sink's
//	   report); checks[].start_test (how long the last start test took
//	   until it passed, and its tries)
const StatusSchema = 2

// Info is the job's status as data: what "status -l" says and more.
type Info struct {
	Schema  int         `json:"schema"`
	State   string      `json:"state"`
	Pid     int         `json:"pid,omitempty"`
	Testing bool        `json:"testing"`
	Manager ManagerInfo `json:"manager"`
	Program []string    `json:"program"`
	// UptimeSeconds is how long the current run has lasted (0 when none).
	UptimeSeconds float64     `json:"uptime_seconds"`
	Starts        int         `json:"starts"`
	Restarts      int         `json:"restarts"`
	Backoff       BackoffInfo `json:"backoff"`
	LastExit      *Run        `json:"last_exit"`
	// Checks are the start tests, in order; those with a liveness block
	// carry its state.
	Checks []CheckInfo `json:"checks"`
	// Watchdog is the watchdog's state; nil without one.
	Watchdog *WatchdogInfo `json:"watchdog"`
	// StatusText is the program's last STATUS= text ("" when none).
	StatusText string `json:"status_text,omitempty"`
	// The job's parts, from the supervisor (Options.Details).
	Details
}

// CheckInfo is one start test, and its liveness state when it has one.
type CheckInfo struct {
	Kind string `json:"kind"`
	// StartTest is how the start test last passed; nil before it did.
	StartTest *StartTestInfo `json:"start_test,omitempty"`
	Liveness  *LivenessInfo  `json:"liveness,omitempty"`
}

// StartTestInfo is how a start test last passed.
type StartTestInfo struct {
	LastPassed *time.Time `json:"last_passed"`
	// LastSeconds is how long it took, from its first try to the end of
	// the one that passed; LastTries how many tries that was.
	LastSeconds float64 `json:"last_seconds"`
	LastTries   int     `json:"last_tries"`
}

// LivenessInfo is a liveness check's state.
type LivenessInfo struct {
	IntervalSeconds  float64    `json:"interval_seconds"`
	Failures         int        `json:"failures"`           // the limit
	FailuresInARow   int        `json:"failures_in_a_row"`  // of this run
	LastTry          *time.Time `json:"last_try,omitempty"` // nil before the first
	LastOK           bool       `json:"last_ok"`
	LastTrySeconds   float64    `json:"last_try_seconds"` // how long it took
	LastMessage      string     `json:"last_message,omitempty"`
	LastError        string     `json:"last_error,omitempty"` // of the last failed try, any run
	LastErrorTime    *time.Time `json:"last_error_time,omitempty"`
	RestartsByFailed int        `json:"restarts"` // program restarts it caused
}

// WatchdogInfo is the watchdog's state.
type WatchdogInfo struct {
	PeriodSeconds float64    `json:"period_seconds"`
	LastPing      *time.Time `json:"last_ping,omitempty"`
	Missed        int        `json:"missed"`
}

// ManagerInfo is the manager process.
type ManagerInfo struct {
	Pid           int     `json:"pid"`
	Version       string  `json:"version,omitempty"`
	UptimeSeconds float64 `json:"uptime_seconds"`
}

// BackoffInfo is the restart governor's state.
type BackoffInfo struct {
	// Count is the back-off count (status -l's backoff=).
	Count int `json:"count"`
	// Limit is backoff-limit.
	Limit int `json:"limit"`
	// NextStart is when a program in back-off starts again.
	NextStart    *time.Time `json:"next_start,omitempty"`
	DelaySeconds float64    `json:"delay_seconds"`
}

// Details are the parts of a job the supervisor assembles.
type Details struct {
	Plugins    []PluginInfo    `json:"plugins"`
	Transcript *TranscriptInfo `json:"transcript"`
	Listen     []ListenInfo    `json:"listen"`
}

// ListenInfo is one held listen socket.
type ListenInfo struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	FD      int    `json:"fd"` // the program's descriptor
}

// PluginInfo is one running plugin.
type PluginInfo struct {
	Kind string `json:"kind"` // "transcript" or "healthcheck"
	Name string `json:"name"` // the block's label
	// Path is an external plugin's executable ("" for a built-in).
	Path     string `json:"path,omitempty"`
	Pid      int    `json:"pid,omitempty"`
	Restarts int    `json:"restarts"`
}

// TranscriptInfo is where the program's output goes, and how far the
// sink got.
type TranscriptInfo struct {
	Path string `json:"path,omitempty"`
	Sink string `json:"sink"`
	// BytesWritten is what the sink wrote to its destination, counted
	// across its restarts; nil when it is unknown (no sink runs, or it
	// did not answer in time: Error says why).
	BytesWritten *uint64 `json:"bytes_written,omitempty"`
	// Destination is where the sink says the bytes go.
	Destination string `json:"destination,omitempty"`
	// Error is the sink's write error, or why it did not report.
	Error string `json:"error,omitempty"`
}

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
func (st SinkStatus) apply(t *TranscriptInfo) {
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
	var in Info
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
func (m *Manager) info() Info {
	now := time.Now()
	st := m.status()
	in := Info{
		Schema:  StatusSchema,
		State:   m.state.String(),
		Pid:     st.Application,
		Testing: st.Testing,
		Manager: ManagerInfo{Pid: ownPid, Version: m.opts.Version, UptimeSeconds: now.Sub(managerStart).Seconds()},
		Program: m.cfg.Program,
		Starts:  m.hist.starts,
		Backoff: BackoffInfo{Count: m.gov.Backoff, Limit: m.cfg.BackoffLimit},
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
		last := *r
		in.LastExit = &last
	}
	in.Checks = []CheckInfo{}
	for i, c := range m.cfg.AllChecks() {
		ci := CheckInfo{Kind: c.Kind}
		if p, ok := m.startTests[i]; ok {
			at := p.at
			ci.StartTest = &StartTestInfo{LastPassed: &at, LastSeconds: p.took.Seconds(), LastTries: p.tries}
		}
		for _, ls := range m.health.live {
			if ls.check != i {
				continue
			}
			li := &LivenessInfo{IntervalSeconds: ls.cfg.Interval.Seconds(), Failures: ls.cfg.Failures,
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
		w := &WatchdogInfo{PeriodSeconds: m.cfg.Watchdog.Seconds(), Missed: m.health.missed}
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
		in.Listen = []ListenInfo{}
	}
	if in.Plugins == nil {
		in.Plugins = []PluginInfo{}
	}
	return in
}
