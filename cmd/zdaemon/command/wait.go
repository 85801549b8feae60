package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/zdaemon/zdaemon/core/controlproto"
	"github.com/zdaemon/zdaemon/core/daemon"
)

// waitResult is how a wait for the manager ended.
type waitResult int

const (
	waitDone        waitResult = iota // the condition holds; status is valid
	waitGone                          // the manager exited or vanished
	waitTimeout                       // the deadline passed
	waitInterrupted                   // Ctrl-C
	waitStalled                       // the manager dropped the connection unanswered (m.stalled)
)

// dotInterval is the original's progress cadence: one ". " per second
// while an event-driven wait lasts.
const dotInterval = time.Second

// pollInterval is how often the original's client polls status (and
// prints its dot). Tests shorten it.
var pollInterval = time.Second

// await waits until cond holds for the manager's status, printing the
// original's progress dots while the wait lasts longer than a second. The
// wait is event-driven: it sends line ("await ...") and the manager answers
// the moment the condition holds. The original's manager does not know
// "await": then, and for the rest of the invocation, it polls status once
// per second as the original's client does. A zero deadline means no
// limit.
func (m *Meta) await(hand *daemon.Manager, line string, cond func(controlproto.Status) bool, deadline time.Time) (controlproto.Status, waitResult) {
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx := sigCtx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	// A wait that ended without its condition: interrupted, past the
	// deadline (by the clock: the connection's own deadline may fire
	// before ctx's), or the manager is gone.
	ended := func(st controlproto.Status, res waitResult) (controlproto.Status, waitResult) {
		switch {
		case res != waitGone:
		case sigCtx.Err() != nil:
			res = waitInterrupted
		case !deadline.IsZero() && !time.Now().Before(deadline):
			res = waitTimeout
		}
		return st, res
	}
	if hand != nil {
		st, res := m.awaitHandoff(ctx, hand)
		if res != waitGone || ctx.Err() != nil {
			return ended(st, res)
		}
	}
	if !m.oldManager {
		st, res, unknown := m.awaitEvent(ctx, line)
		if !unknown {
			return ended(st, res)
		}
		m.oldManager = true
	}
	return ended(m.poll(ctx, cond))
}

// awaitHandoff waits on the hand-off of the manager this client started
// for its word that the program is up (see awaitUp), printing the dots
// meanwhile. waitGone: the hand-off ended without it.
func (m *Meta) awaitHandoff(ctx context.Context, hand *daemon.Manager) (controlproto.Status, waitResult) {
	defer hand.Close()
	reply, err := hand.AwaitUp(ctx, dotInterval, func() { fmt.Fprint(m.Out, ". ") })
	if err != nil {
		return controlproto.Status{}, waitGone
	}
	st, ok := controlproto.ParseStatus(reply)
	if !ok {
		return st, waitGone
	}
	return st, waitDone
}

// awaitEvent sends line and blocks until the manager answers, printing a
// dot per second meanwhile. unknown says the manager does not know the
// command (it is the original's).
func (m *Meta) awaitEvent(ctx context.Context, line string) (st controlproto.Status, res waitResult, unknown bool) {
	type answer struct {
		reply string
		err   error
	}
	ch := make(chan answer, 1)
	go func() {
		reply, err := m.send1(ctx, line)
		// Reset before any reply: a manager that exits resets the
		// connections it had not accepted yet, one over its bound resets
		// new ones. Asking again tells the two apart (the first finds
		// nobody listening); a manager on its way out may still hold its
		// listener for the second ask, so a third, a moment later, decides.
		for try, pause := range resetRetries {
			if !errors.Is(err, syscall.ECONNRESET) || ctx.Err() != nil {
				break
			}
			if try > 0 {
				time.Sleep(pause)
			}
			reply, err = m.send1(ctx, line)
		}
		ch <- answer{reply, err}
	}()
	tick := time.NewTicker(dotInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			fmt.Fprint(m.Out, ". ")
		case a := <-ch:
			if a.err != nil || a.reply == "" {
				// Dropped unanswered while the wait still runs: the
				// manager is there but does not answer us. (An await
				// answers only when its condition holds: its own
				// deadline passing is a timeout, told by the clock.)
				if errors.Is(a.err, controlproto.ErrNoAnswer) && !errors.Is(a.err, context.DeadlineExceeded) && ctx.Err() == nil {
					m.stalled = a.err
					return controlproto.Status{}, waitStalled, false
				}
				return controlproto.Status{}, waitGone, false
			}
			// Only the original's manager supersedes a connection.
			if controlproto.IsUnknown(a.reply) || strings.TrimSpace(a.reply) == controlproto.ReplySuperseded {
				return controlproto.Status{}, waitGone, true
			}
			st, ok := controlproto.ParseStatus(a.reply)
			if !ok {
				return st, waitGone, false
			}
			return st, waitDone, false
		}
	}
}

// maxUnseenPolls is how many sleeps the original's client waits for a
// manager it has never reached before giving up.
const maxUnseenPolls = 10

// poll is the original client's wait loop ("awhile"): poll status; while
// cond does not hold, print ". ", sleep a second and poll again. A manager
// that stops answering after it was seen (or was never seen in 11 polls)
// ends the wait with waitGone; a missing manager counts as no program, so
// a cond satisfied by that ends it with waitDone. A reply that is no
// status (the original's "superseded") satisfies nothing.
func (m *Meta) poll(ctx context.Context, cond func(controlproto.Status) bool) (controlproto.Status, waitResult) {
	seen := false
	for n := 0; ; n++ {
		reply, ok := m.probeRaw()
		st, parsed := controlproto.ParseStatus(reply)
		seen = seen || ok
		switch {
		case (!ok || parsed) && cond(st):
			return st, waitDone
		case !ok && (seen || n > maxUnseenPolls):
			return controlproto.Status{}, waitGone
		}
		if ctx.Err() != nil {
			return controlproto.Status{}, waitGone
		}
		fmt.Fprint(m.Out, ". ")
		t := time.NewTimer(pollInterval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return controlproto.Status{}, waitGone
		}
	}
}

// finish prints the end of a wait: a newline after the dots, then msg.
func (m *Meta) finish(msg string) {
	fmt.Fprintf(m.Out, "\n%s\n", msg)
}

// interrupted ends a command on Ctrl-C: exit status 130 and no success line.
func (m *Meta) interrupted() int {
	fmt.Fprintln(m.Out)
	return 130
}

// awaitUp waits until the program is up and its pid is not exclude, then
// prints "<verb>, pid=N". It returns the exit status.
//
// hand, when not nil, is the hand-off of the manager this client has just
// started: the manager says there when the program is up, with no second
// connection and no hop between goroutines on either side. A hand-off that
// ends without that word (an upgrade replaced the manager) leaves the
// wait to the control socket.
func (m *Meta) awaitUp(hand *daemon.Manager, exclude int, verb string, deadline time.Time) int {
	st, res := m.await(hand, fmt.Sprintf("await up %d", exclude), func(st controlproto.Status) bool {
		return st.Application != 0 && st.Application != exclude && !st.Testing
	}, deadline)
	switch res {
	case waitDone:
		m.finish(fmt.Sprintf("%s, pid=%d", verb, st.Application))
		return 0
	case waitTimeout:
		m.finish("Program took too long to start")
		return 1
	case waitInterrupted:
		return m.interrupted()
	case waitStalled:
		m.finish(m.notResponding())
		return 1
	default:
		m.finish("daemon manager not running")
		return 1
	}
}

// awaitDown waits until no program runs (or the manager is gone).
func (m *Meta) awaitDown(deadline time.Time) (waitResult, controlproto.Status) {
	st, res := m.await(nil, "await down", func(st controlproto.Status) bool { return st.Application == 0 }, deadline)
	return res, st
}
