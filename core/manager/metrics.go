package manager

import (
	"context"
	"time"
)

// Snapshot is the manager's part of the job's metrics, taken in the loop.
type Snapshot struct {
	State   State
	Up      bool // running and past its start tests
	Starts  int
	Exits   map[string]int // by how runs ended (EndedExit, EndedSignal, ...)
	HasExit bool           // LastExitCode is set
	// LastExitCode is the last ended run's status as a shell reports it:
	// its exit code, or 128 plus the signal that ended it.
	LastExitCode int
	ProgramStart time.Time // of the current run; zero when none runs
	ManagerStart time.Time
	BackoffCount int
	BackoffDelay time.Duration // until the next start, in back-off
}

// Snapshot takes the metrics snapshot through the loop; false when the
// loop is gone or ctx ended first.
func (m *Manager) Snapshot(ctx context.Context) (Snapshot, bool) {
	var s Snapshot
	ok := m.call(ctx, func() { s = m.snapshot() })
	return s, ok
}

func (m *Manager) snapshot() Snapshot {
	s := Snapshot{
		State:        m.state,
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
	return s
}
