package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/handover"
	"github.com/zdaemon/zdaemon/core/pluginhost"
)

// transcriptPipe is the output pipe and the sink draining it.
type transcriptPipe struct {
	r, w *os.File
	sink *pluginhost.Sink
}

// pipeSize absorbs a sink restart without slowing the program.
const pipeSize = 1 << 20

// A manager that took over from another (in) keeps its pipe, and
// re-attaches to its sink (adopted) or starts one on the pipe.
func startTranscript(ctx context.Context, exe string, cfg *config.Config, reaper *child.Reaper, log *slog.Logger, in *handover.In, adopted *adoptedChildren) (*transcriptPipe, error) {
	r, w := in.File("transcript:read"), in.File("transcript:write")
	if r == nil || w == nil {
		var err error
		if r, w, err = os.Pipe(); err != nil {
			return nil, fmt.Errorf("transcript pipe: %w", err)
		}
		if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, pipeSize); err != nil {
			log.Debug(fmt.Sprintf("transcript pipe size: %v", err))
		}
	}
	host := &pluginhost.Host{Exe: exe, Reaper: reaper, Logger: log}
	spec := pluginhost.Spec{Kind: cfg.Sink.Kind, Path: cfg.Sink.Plugin}
	var sink *pluginhost.Sink
	var err error
	if adopted != nil && adopted.sink != nil {
		stdout, stderr := in.File("transcript:sink-stdout"), in.File("transcript:sink-stderr")
		sink, err = host.AdoptSink(spec, cfg.Sink.Settings, r, *adopted.tr.Sink, adopted.sink, stdout, stderr)
		if err != nil {
			// Two sinks must never read one pipe: this one goes (losing
			// at most what it read and had not written yet, as a crash
			// does) and a new one goes on from there.
			log.Error(fmt.Sprintf("%v; starting a new sink on the same pipe", err))
			_ = adopted.sink.Signal(syscall.SIGKILL, true)
		}
	}
	if sink == nil {
		sink, err = host.StartSink(ctx, spec, cfg.Sink.Settings, r)
	}
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
	if st, err := t.sink.Drain(ctx); err != nil {
		log.Error(fmt.Sprintf("transcript sink did not drain: %v", err))
	} else if st.Error != "" {
		log.Error(fmt.Sprintf("transcript sink: %s", st.Error))
	}
	t.sink.Close()
	t.r.Close()
}

// drainTimeout bounds how long an exiting manager waits for its sink.
const drainTimeout = 10 * time.Second
