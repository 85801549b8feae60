// Package backoff is zdaemon's restart governor: the pure policy that says
// how long to wait before restarting a program that exited, and when to give
// up. It holds no timers and reads no clock; the manager passes in how long
// the last run lasted.
//
// The policy is the original's (zdrun.py, Governor): a run shorter than the
// limit is a quick crash and adds one second to the delay; reaching the limit
// gives up, or with Forever keeps the delay at the limit. A run that lasted
// at least the limit resets the count, and the restart after it waits one
// second, as the original's documentation promises ("the delay is reset to
// 1 second"; its code restarted at once, which hammers whatever the program
// depends on when it fails after a long run).
//
// Doubling is the second policy, for helper processes that must always come
// back (a transcript sink): a delay that doubles from a minimum to a cap and
// starts again after a healthy run. It is as pure as the governor.
package backoff

import "time"

// Policy is the configured behaviour.
type Policy struct {
	// Limit is the backoff limit in seconds: both the longest delay and the
	// run time under which an exit counts as a quick crash. Values below 1
	// are treated as 1.
	Limit int
	// Forever keeps restarting at Limit seconds instead of giving up.
	Forever bool
}

// State is the governor's memory between exits. The zero value is fresh.
type State struct {
	// Backoff is the current delay in whole seconds.
	Backoff int
}

// Decision is what to do after an exit.
type Decision struct {
	// Delay before the next start (0 = at once).
	Delay time.Duration
	// GiveUp means the program crashed too often: the manager quits.
	GiveUp bool
}

// AfterLongRun is the delay before restarting a program that stayed up for
// at least the limit.
const AfterLongRun = time.Second

// Next returns the decision for a run that lasted ran, and the new state.
func (p Policy) Next(s State, ran time.Duration) (Decision, State) {
	limit := max(p.Limit, 1)
	if ran >= time.Duration(limit)*time.Second {
		return Decision{Delay: AfterLongRun}, State{}
	}
	s.Backoff++
	if s.Backoff >= limit {
		if !p.Forever {
			return Decision{GiveUp: true}, s
		}
		s.Backoff = limit
	}
	return Decision{Delay: time.Duration(s.Backoff) * time.Second}, s
}

// Reset returns the fresh state (after start, stop or restart).
func (State) Reset() State { return State{} }
