package ontime

import (
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// remaining is what is left of the nudge's timerfd (0: disarmed).
func remaining(t *testing.T, n *Nudge) time.Duration {
	t.Helper()
	var cur unix.ItimerSpec
	var gerr error
	tf := n.impl.(*timerfd)
	if err := tf.rc.Control(func(fd uintptr) { gerr = unix.TimerfdGettime(int(fd), &cur) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	if cur.Interval.Nano() != 0 {
		t.Fatalf("the nudge repeats every %v; it must be one-shot", time.Duration(cur.Interval.Nano()))
	}
	return time.Duration(cur.Value.Nano())
}

func TestNudgeArmsAtTheDeadlineAndStops(t *testing.T) {
	n, err := New()
	if err != nil || n == nil {
		t.Fatalf("New() = %v, %v; Linux has timerfd", n, err)
	}
	defer n.Close()
	cases := []struct {
		name  string
		after time.Duration
		stop  bool
	}{
		{"an hour", time.Hour, false},
		{"a minute, then stopped", time.Minute, true},
		{"re-armed shorter", 10 * time.Minute, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n.After(c.after)
			left := remaining(t, n)
			// Never before the Go timer's deadline, at most the margin after.
			if left <= c.after-time.Second || left > c.after+margin {
				t.Fatalf("armed for %v, timerfd says %v left", c.after, left)
			}
			if c.stop {
				n.Stop()
				if left := remaining(t, n); left != 0 {
					t.Fatalf("after Stop the timerfd still has %v left", left)
				}
			}
		})
	}
}

// The expiry is read by the runtime's poller: the drain goroutine has
// taken it (a read of our own finds nothing) once the timerfd is disarmed.
func TestNudgeExpiryIsReadByThePoller(t *testing.T) {
	n, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	tf := n.impl.(*timerfd)
	for round := range 3 {
		n.After(time.Millisecond)
		deadline := time.Now().Add(10 * time.Second)
		for remaining(t, n) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the 1 ms nudge has not expired in 10 s", round)
			}
			time.Sleep(time.Millisecond)
		}
		// Expired: the drain goroutine reads the count; wait (bounded)
		// until nothing is left to read.
		for {
			var buf [8]byte
			var rerr error
			if err := tf.rc.Control(func(fd uintptr) { _, rerr = unix.Read(int(fd), buf[:]) }); err != nil {
				t.Fatal(err)
			}
			if errors.Is(rerr, unix.EAGAIN) {
				break // the poller's reader had it
			}
			if rerr != nil {
				t.Fatal(rerr)
			}
			// We raced the reader to it: fine once, not every round.
			if time.Now().After(deadline) {
				t.Fatalf("round %d: expirations pile up unread", round)
			}
		}
	}
}

func TestNudgeCloseReleasesTheDescriptor(t *testing.T) {
	n, err := New()
	if err != nil {
		t.Fatal(err)
	}
	fd := n.impl.(*timerfd).f.Fd()
	link := "/proc/self/fd/" + strconv.Itoa(int(fd))
	if target, err := os.Readlink(link); err != nil || target != "anon_inode:[timerfd]" {
		t.Fatalf("descriptor %d is %q (%v), want the timerfd", fd, target, err)
	}
	n.After(time.Hour)
	if err := n.Close(); err != nil { // returns once the reader has ended
		t.Fatal(err)
	}
	if target, err := os.Readlink(link); err == nil && target == "anon_inode:[timerfd]" {
		t.Fatalf("descriptor %d is still the timerfd after Close", fd)
	}
	n.After(time.Second) // after Close: nothing, no panic
	n.Stop()
}

func TestNilNudgeDoesNothing(t *testing.T) {
	var n *Nudge
	n.After(time.Second)
	n.Stop()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}
