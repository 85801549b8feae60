package manager

import (
	"encoding/json"
	"time"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/signame"
)

// keptRuns is how many runs the manager remembers for "history".
const keptRuns = 100

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
	signo            int      // the signal's number, for metrics
}

// history is the manager's memory of runs, oldest first; loop only.
type history struct {
	runs   []Run
	starts int            // every start, also those no longer kept
	exits  map[string]int // every end, by how
}

// started records a new run.
func (h *history) started(pid int, at time.Time) {
	h.starts++
	if len(h.runs) == keptRuns {
		h.runs = append(h.runs[:0], h.runs[1:]...)
	}
	h.runs = append(h.runs, Run{Start: at, Pid: pid, Ended: EndedRunning})
}

// ended closes the current run: how, with the exit status when there was
// one (asked stops keep it too).
func (h *history) ended(how string, st *child.ExitStatus, at time.Time) {
	r := h.current()
	if r == nil {
		return
	}
	r.End, r.Ended = at, how
	r.RanSeconds = at.Sub(r.Start).Seconds()
	if h.exits == nil {
		h.exits = map[string]int{}
	}
	h.exits[how]++
	if st != nil {
		if st.Signal != 0 {
			r.Signal = signame.ManagerName(st.Signal)
			r.signo = int(st.Signal)
		} else {
			code := st.Code
			r.ExitCode = &code
		}
	}
}

// delayed notes the back-off before the next start.
func (h *history) delayed(d time.Duration) {
	if r := h.last(); r != nil && r.Ended != EndedRunning {
		s := d.Seconds()
		r.NextDelaySeconds = &s
	}
}

func (h *history) last() *Run {
	if len(h.runs) == 0 {
		return nil
	}
	return &h.runs[len(h.runs)-1]
}

// current is the run still going, nil if none.
func (h *history) current() *Run {
	if r := h.last(); r != nil && r.Ended == EndedRunning {
		return r
	}
	return nil
}

// lastEnded is the last run that ended, nil if none.
func (h *history) lastEnded() *Run {
	for i := len(h.runs) - 1; i >= 0; i-- {
		if h.runs[i].Ended != EndedRunning {
			return &h.runs[i]
		}
	}
	return nil
}

// reply is the "history [N]" reply: the last n runs as JSON, with the
// ran time of a running one up to now.
func (h *history) reply(n int, now time.Time) string {
	if n <= 0 || n > len(h.runs) {
		n = len(h.runs)
	}
	runs := append([]Run(nil), h.runs[len(h.runs)-n:]...)
	for i := range runs {
		if runs[i].Ended == EndedRunning {
			runs[i].RanSeconds = now.Sub(runs[i].Start).Seconds()
		}
	}
	out, _ := json.Marshal(struct {
		Schema int   `json:"schema"`
		Starts int   `json:"starts"`
		Runs   []Run `json:"runs"`
	}{HistorySchema, h.starts, runs})
	return string(out)
}

// HistorySchema is the version of the "history" reply's JSON.
const HistorySchema = 1

// HandedHistory is the history as an upgrading manager hands it over.
type HandedHistory struct {
	Runs    []Run          `json:"runs"`
	Signals []int          `json:"signals,omitempty"` // each run's signal number, 0 for none
	Starts  int            `json:"starts"`
	Exits   map[string]int `json:"exits,omitempty"`
}

// handover is the history to hand over.
func (h *history) handover() *HandedHistory {
	hh := &HandedHistory{Runs: append([]Run(nil), h.runs...), Starts: h.starts, Exits: h.exits}
	for _, r := range h.runs {
		hh.Signals = append(hh.Signals, r.signo)
	}
	return hh
}

// restore takes over a history handed over (nil: a manager that kept
// none, an older one).
func (h *history) restore(hh *HandedHistory) {
	if hh == nil {
		return
	}
	h.runs = append([]Run(nil), hh.Runs...)
	if len(h.runs) > keptRuns {
		h.runs = h.runs[len(h.runs)-keptRuns:]
	}
	off := len(hh.Runs) - len(h.runs)
	for i := range h.runs {
		if j := off + i; j < len(hh.Signals) {
			h.runs[i].signo = hh.Signals[j]
		}
	}
	h.starts, h.exits = hh.Starts, hh.Exits
}
