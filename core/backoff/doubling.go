package backoff

import "time"

// Doubling is the restart policy of a helper process that must always come
// back (a transcript sink): the first restart waits Min, each failure in a
// row doubles the delay up to Max, and a run that lasted at least Healthy
// starts the count again. It never gives up. Like Policy it is pure: the
// caller passes in how long the last run lasted and keeps the timer.
type Doubling struct {
	// Min is the first delay (values below 1 ms are treated as 1 ms).
	Min time.Duration
	// Max caps the delay (values below Min are treated as Min).
	Max time.Duration
	// Healthy is the run time after which an exit is no longer part of a
	// run of failures; 0 means Max.
	Healthy time.Duration
}

// SinkRestart is the transcript sink's policy: 100 ms doubling to 10 s,
// reset after a run of 10 s.
var SinkRestart = Doubling{Min: 100 * time.Millisecond, Max: 10 * time.Second}

// Streak is a Doubling's memory between exits: the number of failures in
// a row. The zero value is fresh.
type Streak struct {
	Failures int
}

// Next returns the delay before the next start after a run that lasted
// ran (0 for a start that failed), and the new streak.
func (d Doubling) Next(s Streak, ran time.Duration) (time.Duration, Streak) {
	lo := max(d.Min, time.Millisecond)
	hi := max(d.Max, lo)
	healthy := d.Healthy
	if healthy <= 0 {
		healthy = hi
	}
	if ran >= healthy {
		s = Streak{}
	}
	delay := lo
	for i := 0; i < s.Failures && delay < hi; i++ {
		if delay > hi/2 { // doubling would pass hi (or overflow)
			delay = hi
			break
		}
		delay *= 2
	}
	s.Failures++
	return delay, s
}
