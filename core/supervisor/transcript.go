package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/config"
)

// transcriptPipe is the output pipe and the sink draining it.
type transcriptPipe struct {
	r, w *os.File
	sink Sink
}

// pipeSize absorbs a sink restart without slowing the program.
const pipeSize = 1 << 20

func startTranscript(ctx context.Context, plugins Plugins, cfg *config.Config, reaper *child.Reaper, log *slog.Logger) (*transcriptPipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("transcript pipe: %w", err)
	}
	if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, pipeSize); err != nil {
		log.Debug(fmt.Sprintf("transcript pipe size: %v", err))
	}
	sink, err := plugins.StartSink(ctx, reaper, log, *cfg.Sink, r)
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	// The manager's own messages (stdout, stderr) join the program's.
	for _, fd := range []int{1, 2} {
		if err := unix.Dup2(int(w.Fd()), fd); err != nil {
			log.Warn(fmt.Sprintf("redirect fd %d to the transcript: %v", fd, err))
		}
	}
	return &transcriptPipe{r: r, w: w, sink: sink}, nil
}

// finish closes every write end the manager holds, lets the sink write
// everything up to the end of the pipe, and stops it.
func (t *transcriptPipe) finish(log *slog.Logger) {
	if devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		_ = unix.Dup2(int(devnull.Fd()), 1)
		_ = unix.Dup2(int(devnull.Fd()), 2)
		devnull.Close()
	}
	t.w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if writeErr, err := t.sink.Drain(ctx); err != nil {
		log.Error(fmt.Sprintf("transcript sink did not drain: %v", err))
	} else if writeErr != "" {
		log.Error(fmt.Sprintf("transcript sink: %s", writeErr))
	}
	t.sink.Close()
	t.r.Close()
}

// drainTimeout bounds how long an exiting manager waits for its sink.
const drainTimeout = 10 * time.Second
