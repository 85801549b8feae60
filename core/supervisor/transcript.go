package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/handover"
	"github.com/zdaemon/zdaemon/core/manager"
)

// transcriptPipe is the output pipe and the sink draining it.
type transcriptPipe struct {
	r, w *os.File
	sink Sink
	own  bool // fds 1 and 2 point into the pipe
}

// pipeSize absorbs a sink restart without slowing the program.
const pipeSize = 1 << 20

// startTranscript creates the pipe and its sink; with own, the manager's
// stdout and stderr join the program's output (a daemon has no other).
// A manager that took over from another (in) keeps its pipe, and
// re-attaches to its sink (adopted) or starts one on the pipe.
func startTranscript(ctx context.Context, plugins Plugins, env PluginEnv, cfg *config.Config, own bool, in *handover.In, adopted *adoptedChildren) (*transcriptPipe, error) {
	log := env.Log
	r, w := in.File("transcript:read"), in.File("transcript:write")
	if r == nil || w == nil {
		var err error
		if r, w, err = blockingPipe(); err != nil {
			return nil, fmt.Errorf("transcript pipe: %w", err)
		}
		if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, pipeSize); err != nil {
			log.Debug(fmt.Sprintf("transcript pipe size: %v", err))
		}
	}
	var sink Sink
	var err error
	if adopted != nil && adopted.sink != nil {
		stdout, stderr := in.File("transcript:sink-stdout"), in.File("transcript:sink-stderr")
		sink, err = plugins.AdoptSink(env, *cfg.Sink, r, *adopted.tr.Sink, adopted.sink, stdout, stderr)
		if err != nil {
			// Two sinks must never read one pipe: this one goes (losing
			// at most what it read and had not written yet, as a crash
			// does) and a new one goes on from there.
			log.Error(fmt.Sprintf("%v; starting a new sink on the same pipe", err))
			_ = adopted.sink.Signal(unix.SIGKILL, true)
			sink = nil
		}
	}
	if sink == nil {
		sink, err = plugins.StartSink(ctx, env, *cfg.Sink, r)
	}
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	// The manager's own messages (stdout, stderr) join the program's.
	for _, fd := range ownFds(own) {
		if err := unix.Dup2(int(w.Fd()), fd); err != nil {
			log.Warn(fmt.Sprintf("redirect fd %d to the transcript: %v", fd, err))
		}
	}
	return &transcriptPipe{r: r, w: w, sink: sink, own: own}, nil
}

// blockingPipe is os.Pipe without the runtime's poller: os.Pipe would
// register both ends with the manager's epoll set, which then wakes the
// manager for every chunk the program writes and the sink reads (several
// thousand wake-ups per 256 MiB, on the cores the copy needs), although
// the manager never reads or writes the pipe itself. os.NewFile of a
// blocking descriptor stays out of the poller.
func blockingPipe() (r, w *os.File, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1"), nil
}

// finish closes every write end the manager holds, lets the sink write
// everything up to the end of the pipe, and stops it.
func (t *transcriptPipe) finish(log *slog.Logger) {
	if devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		for _, fd := range ownFds(t.own) {
			_ = unix.Dup2(int(devnull.Fd()), fd)
		}
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

// SinkStatusTimeout bounds how long status -json and a metrics scrape
// wait for the sink's report: a sink that hangs (or is being restarted)
// makes its figures unknown, never the reply slow.
const SinkStatusTimeout = 500 * time.Millisecond

// status asks the sink for its report, within SinkStatusTimeout; ok is
// false without a sink.
func (t *transcriptPipe) status(ctx context.Context) (manager.SinkStatus, bool) {
	if t == nil {
		return manager.SinkStatus{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, SinkStatusTimeout)
	defer cancel()
	st, err := t.sink.Status(ctx)
	// gRPC sends the deadline to the plugin's side, whose timer may end
	// the call a moment before ctx's own: an error at the deadline is
	// the deadline.
	dl, _ := ctx.Deadline()
	atDeadline := err != nil && time.Until(dl) < SinkStatusTimeout/10
	switch {
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), atDeadline:
		return manager.SinkStatus{Error: fmt.Sprintf("the transcript sink did not report within %v", SinkStatusTimeout)}, true
	case err != nil:
		return manager.SinkStatus{Error: err.Error()}, true
	}
	st.Known = true
	return st, true
}

// ownFds are the manager's descriptors that point into the pipe.
func ownFds(own bool) []int {
	if own {
		return []int{1, 2}
	}
	return nil
}

// drainTimeout bounds how long an exiting manager waits for its sink.
const drainTimeout = 10 * time.Second

// reopenTimeout bounds how long reopen_transcript waits for the sink.
const reopenTimeout = 10 * time.Second

// sinkStatus is the manager's Options.SinkStatus: nil without a sink, so
// that status -json of a job without one stays a quick request.
func sinkStatus(t *transcriptPipe) func(context.Context) (manager.SinkStatus, bool) {
	if t == nil {
		return nil
	}
	return t.status
}
