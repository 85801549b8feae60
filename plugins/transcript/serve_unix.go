//go:build unix

package transcript

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
)

// finishOnTerm makes SIGTERM the end of a sink's life: the manager sends
// it as the parent-death signal when it dies without closing down (a
// SIGKILL), and a service manager sends it at shutdown. The sink then
// goes on copying until the pipe reaches end of file (every writer is
// gone: the program dies with the manager) or DrainTimeout passes, and
// exits. It also turns the broken stderr pipe of a dead manager into
// failed log writes instead of a SIGPIPE that would kill the sink.
func finishOnTerm(impl Sink, logger hclog.Logger) {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
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
