package manager

import (
	"encoding/json"
	"time"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/report"
	"github.com/zdaemon/zdaemon/core/signame"
)

// keptRuns is how many runs the manager remembers for "history".
const keptRuns = 100

// record is one run as the manager remembers it: what "history" reports,
// and the number of the signal that ended it, for metrics.
type record struct {
	report.Run
	signo int
}

// history is the manager's memory of runs, oldest first; loop only.
type history struct {
	runs   []record
	starts int            // every start, also those no longer kept
	exits  map[string]int // every end, by how
}

// started records a new run.
func (h *history) started(pid int, at time.Time) {
	h.starts++
	if len(h.runs) == keptRuns {
		h.runs = append(h.runs[:0], h.runs[1:]...)
	}
	h.runs = append(h.runs, record{Run: report.Run{Start: at, Pid: pid, Ended: report.EndedRunning}})
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
	if r := h.last(); r != nil && r.Ended != report.EndedRunning {
		s := d.Seconds()
		r.NextDelaySeconds = &s
	}
}

func (h *history) last() *record {
	if len(h.runs) == 0 {
		return nil
	}
	return &h.runs[len(h.runs)-1]
}

// current is the run still going, nil if none.
func (h *history) current() *record {
	if r := h.last(); r != nil && r.Ended == report.EndedRunning {
		return r
	}
	return nil
}

// lastEnded is the last run that ended, nil if none.
func (h *history) lastEnded() *record {
	for i := len(h.runs) - 1; i >= 0; i-- {
		if h.runs[i].Ended != report.EndedRunning {
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
	runs := make([]report.Run, n)
	for i, r := range h.runs[len(h.runs)-n:] {
		runs[i] = r.Run
		if r.Ended == report.EndedRunning {
			runs[i].RanSeconds = now.Sub(r.Start).Seconds()
		}
	}
	out, _ := json.Marshal(report.History{Schema: report.HistorySchema, Starts: h.starts, Runs: runs})
	return string(out)
}

// HandedHistory is the history as an upgrading manager hands it over.
type HandedHistory struct {
	Runs    []report.Run   `json:"runs"`
	Signals []int          `json:"signals,omitempty"` // each run's signal number, 0 for none
	Starts  int            `json:"starts"`
	Exits   map[string]int `json:"exits,omitempty"`
}

// handover is the history to hand over.
func (h *history) handover() *HandedHistory {
	hh := &HandedHistory{Starts: h.starts, Exits: h.exits}
	for _, r := range h.runs {
		hh.Runs = append(hh.Runs, r.Run)
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
	runs := hh.Runs
	if len(runs) > keptRuns {
		runs = runs[len(runs)-keptRuns:]
	}
	off := len(hh.Runs) - len(runs)
	h.runs = make([]record, len(runs))
	for i, r := range runs {
		h.runs[i].Run = r
		if j := off + i; j < len(hh.Signals) {
			h.runs[i].signo = hh.Signals[j]
		}
	}
	h.starts, h.exits = hh.Starts, hh.Exits
}
