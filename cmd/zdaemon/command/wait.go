package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zdaemon/zdaemon/core/control"
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
// while a wait lasts.
const dotInterval = time.Second

// await sends an "await ..." command and blocks until the manager answers,
// printing the original's progress dots while the wait lasts longer than a
// second. The wait is event-driven: the manager answers the moment the
// condition holds. A zero deadline means no limit.
func (m *Meta) await(line string, deadline time.Time) (control.Status, waitResult) {
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx := sigCtx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	type answer struct {
		reply string
		err   error
	}
	ch := make(chan answer, 1)
	go func() {
		reply, err := control.Do(ctx, m.Socket, line)
		ch <- answer{reply, err}
	}()
	tick := time.NewTicker(dotInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			fmt.Fprint(m.Out, ". ")
		case a := <-ch:
			switch {
			case a.err == nil && a.reply != "":
				st, ok := control.ParseStatus(a.reply)
				if !ok {
					return st, waitGone
				}
				return st, waitDone
			case sigCtx.Err() != nil:
				return control.Status{}, waitInterrupted
			case !deadline.IsZero() && !time.Now().Before(deadline):
				return control.Status{}, waitTimeout
			case errors.Is(a.err, control.ErrNoAnswer):
				m.stalled = a.err
				return control.Status{}, waitStalled
			default:
				return control.Status{}, waitGone
			}
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
func (m *Meta) awaitUp(exclude int, verb string, deadline time.Time) int {
	st, res := m.await(fmt.Sprintf("await up %d", exclude), deadline)
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
func (m *Meta) awaitDown(deadline time.Time) (waitResult, control.Status) {
	st, res := m.await("await down", deadline)
	return res, st
}
