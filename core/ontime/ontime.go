// Package ontime makes the manager's timers fire on time.
//
// The Go runtime's poller sleeps in whole milliseconds (epoll_wait takes
// milliseconds), so when nothing else wakes the process a time.Timer fires
// up to a millisecond late: the 20 ms start grace measured 20.4 ms from
// the program's exec to the timer (median of 20 starts). A Nudge is a
// one-shot timer of the kernel's (a timerfd on Linux) set just past the Go
// timer's deadline and read by the runtime's poller: the kernel wakes the
// poller then, and the runtime runs the timer that is now due. The Go
// timer still decides what fires and when; a nudge that comes for a timer
// since stopped only wakes the poller once for nothing.
package ontime

import "time"

// Nudge wakes the runtime's poller at the deadline of a Go timer. A nil
// *Nudge (New found no way to make one) does nothing: the timer then fires
// as late as the runtime lets it. Its methods are for one goroutine.
type Nudge struct {
	impl nudger
}

// nudger is the platform's part (ontime_linux.go, ontime_other.go).
type nudger interface {
	after(d time.Duration) error
	stop() error
	close() error
}

// New returns a Nudge, or nil (with the reason) when the platform has no
// timer to wake the poller with or the process is out of descriptors.
func New() (*Nudge, error) {
	impl, err := newNudger()
	if err != nil || impl == nil {
		return nil, err
	}
	return &Nudge{impl: impl}, nil
}

// After wakes the poller d from now. Call it right after arming the Go
// timer for d: the wake-up then comes at or just after the timer's
// deadline, never before it (a wake-up before it would find the timer not
// yet due, and the runtime would sleep its millisecond again).
func (n *Nudge) After(d time.Duration) {
	if n == nil {
		return
	}
	_ = n.impl.after(d + margin) // a failed nudge leaves the timer late, nothing worse
}

// Stop cancels the wake-up, when the timer was stopped.
func (n *Nudge) Stop() {
	if n == nil {
		return
	}
	_ = n.impl.stop()
}

// Close releases the nudge's descriptor; the nudge does nothing after.
func (n *Nudge) Close() error {
	if n == nil {
		return nil
	}
	return n.impl.close()
}

// margin puts the wake-up past the Go timer's deadline: both read the same
// monotonic clock, After runs after the timer was armed, and the margin
// covers what rounding is left.
const margin = 5 * time.Microsecond
