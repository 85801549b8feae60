//go:build unix

package transcript

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
)

// finishOnTerm makes SIGTERM after its manager died the end of a sink's
// life: the manager sends it as the parent-death signal when it dies
// without closing down (a SIGKILL). The sink then goes on copying until
// the pipe reaches end of file (every writer is gone: the program dies
// with the manager) or DrainTimeout passes, and exits. While the manager
// lives (the sink's parent is the one it started with), SIGTERM is
// ignored: the manager drains and stops its sink itself, and a service
// manager's SIGTERM to the whole service reaches the manager too. It
// also turns the broken stderr pipe of a dead manager into failed log
// writes instead of a SIGPIPE that would kill the sink.
func finishOnTerm(impl Sink, logger hclog.Logger) {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	parent := os.Getppid()
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		for range term {
			if os.Getppid() != parent {
				break
			}
			logger.Info("SIGTERM ignored: the manager still runs and stops its sink itself", "manager", parent)
		}
		ctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
		defer cancel()
		// A sink that never started (a throw-away instance) has nothing
		// to write and returns at once.
		st, _ := impl.Drain(ctx)
		if ctx.Err() != nil {
			logger.Error("terminated before the end of the transcript pipe", "timeout", DrainTimeout, "bytes_written", st.BytesWritten)
			os.Exit(1)
		}
		os.Exit(0)
	}()
}
