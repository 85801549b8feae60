package manager

import (
	"encoding/json"
	"time"
)

// StatusSchema is the version of the "status-json" reply (zdaemon status
// -json). Fields are only ever added within one version.
const StatusSchema = 1

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
	// The job's parts, from the supervisor (Options.Details).
	Details
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

// TranscriptInfo is where the program's output goes.
type TranscriptInfo struct {
	Path string `json:"path,omitempty"`
	Sink string `json:"sink"`
}

var managerStart = time.Now()

// info builds the status-json reply; loop goroutine only.
func (m *Manager) info() string {
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
	if m.opts.Details != nil {
		in.Details = m.opts.Details()
	}
	if in.Plugins == nil {
		in.Plugins = []PluginInfo{}
	}
	out, _ := json.Marshal(in)
	return string(out)
}
