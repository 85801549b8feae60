// Package report is the JSON the manager reports a job in: the
// "status-json" reply (zdaemon status -json, Info) and the "history" reply
// (zdaemon history, History of Runs), with their schema versions. The
// manager fills them in; clients decode them without linking the manager.
package report

import "time"

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

// HistorySchema is the version of the "history" reply's JSON.
const HistorySchema = 1

// History is the "history [N]" reply: the last runs, oldest first.
type History struct {
	Schema int `json:"schema"`
	// Starts counts every start, also of runs no longer kept.
	Starts int   `json:"starts"`
	Runs   []Run `json:"runs"`
}

// How a run ended (Run.Ended).
const (
	EndedRunning    = "running"     // it still runs
	EndedExit       = "exit"        // it exited by itself (ExitCode)
	EndedSignal     = "signal"      // a signal nobody asked for ended it (Signal)
	EndedExecFailed = "exec-failed" // it could not be executed (exit status 127)
	EndedStop       = "stop"        // stopped: the stop action
	EndedRestart    = "restart"     // stopped by the restart action
	EndedShutdown   = "shutdown"    // stopped because the manager was told to exit (SIGTERM, ...)
	EndedLiveness   = "liveness"    // restarted: its liveness check failed too often
	EndedWatchdog   = "watchdog"    // restarted: it missed its watchdog period (SIGABRT)
)

// Run is one run of the program, as "history" reports it.
type Run struct {
	Start time.Time `json:"start"`
	Pid   int       `json:"pid,omitempty"`
	// End is zero while the program runs.
	End        time.Time `json:"end,omitzero"`
	RanSeconds float64   `json:"ran_seconds"`
	Ended      string    `json:"ended"`
	ExitCode   *int      `json:"exit_code,omitempty"`
	Signal     string    `json:"signal,omitempty"`
	// NextDelaySeconds is the back-off before the next start, when one was
	// scheduled after this run.
	NextDelaySeconds *float64 `json:"next_delay_seconds,omitempty"`
}
