package manager

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zdaemon/zdaemon/core/controlproto"
	"github.com/zdaemon/zdaemon/core/pyrepr"
	"github.com/zdaemon/zdaemon/core/signame"
)

// Reloader follows a program's reload on its notification socket, as in
// systemd's notify-reload protocol: after the reload signal, the program
// sends RELOADING=1, reloads, then sends READY=1.
type Reloader interface {
	// Begin forgets what the program reported so far: only reports that
	// follow the signal count. The loop calls it before the signal.
	Begin()
	// Wait returns nil once the program sent RELOADING=1 and, after it,
	// READY=1; a READY=1 without RELOADING=1 first does not count. It
	// returns ctx's cause when ctx ends first.
	Wait(ctx context.Context) error
}

// reloadState is the reload that waits for the program's report; loop
// goroutine only.
type reloadState struct {
	pid    int
	cancel context.CancelCauseFunc
}

var errProgramExited = errors.New("the program exited")

// reload implements "reload [MILLISECONDS]": send reload-signal to the
// program's main pid (as systemd's ExecReload=kill -HUP $MAINPID does)
// and, with a Reloader, wait for the program's RELOADING=1 then READY=1,
// at most MILLISECONDS (start-timeout by default).
func (m *Manager) reload(ctx context.Context, args []string) string {
	timeout := m.cfg.StartTimeout
	if len(args) > 0 {
		ms, err := strconv.Atoi(args[0])
		if err != nil || ms < 0 {
			return fmt.Sprintf("Bad timeout %s", pyrepr.Str(args[0]))
		}
		timeout = time.Duration(ms) * time.Millisecond
	}
	var (
		reply string
		wctx  context.Context
	)
	// Sent even when the client does not stay for the reply, as kill.
	if !m.call(context.WithoutCancel(ctx), func() { reply, wctx = m.sendReload() }) {
		return ""
	}
	if wctx == nil {
		return reply
	}
	tctx, cancel := context.WithTimeoutCause(wctx, timeout, context.DeadlineExceeded)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)() // the client hung up
	err := m.opts.Reloader.Wait(tctx)
	m.call(context.Background(), func() { m.endReload(wctx) })
	switch {
	case err == nil:
		m.log.Info("the program reloaded (READY=1)")
		return reply + "\n" + controlproto.ReplyReloaded
	case errors.Is(err, errProgramExited):
		return reply + "\n" + controlproto.ReplyReloadExited
	case errors.Is(err, context.DeadlineExceeded):
		m.log.Warn(fmt.Sprintf("the program did not report RELOADING=1 and READY=1 within %v", timeout))
		return reply + "\n" + controlproto.ReplyReloadTimeout
	default: // the client went away, or the manager exits
		return reply
	}
}

// sendReload signals the program on the loop; it returns the reply and,
// when the reload is to be followed, a context that ends when the
// program exits.
func (m *Manager) sendReload() (string, context.Context) {
	switch {
	case m.proc == nil:
		return controlproto.ReplyNotRunning, nil
	case m.state == Starting:
		return controlproto.ReplyReloadStarting, nil
	case m.state != Running:
		return controlproto.ReplyReloadStopping, nil
	case m.reloadState.cancel != nil:
		return controlproto.ReplyReloadBusy, nil
	}
	sig := m.cfg.ReloadSignal
	if sig == 0 {
		sig = syscall.SIGHUP
	}
	rl := m.opts.Reloader
	if rl != nil {
		rl.Begin()
	}
	pid := m.proc.Pid()
	if err := m.proc.Signal(sig, false); err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			return fmt.Sprintf("Kill %d failed: %s", int(sig), pyrepr.Errno(errno)), nil
		}
		return fmt.Sprintf("Kill %d failed: %v", int(sig), err), nil
	}
	reply := fmt.Sprintf("Sent %s to pid %d", signame.ClientName(sig), pid)
	m.log.Info(fmt.Sprintf("reload: sent %s to pid %d", signame.ManagerName(sig), pid))
	if rl == nil {
		return reply, nil
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	m.reloadState = reloadState{pid: pid, cancel: cancel}
	return reply, ctx
}

// endReload forgets the reload of ctx once its wait is over.
func (m *Manager) endReload(ctx context.Context) {
	if m.reloadState.cancel != nil && context.Cause(ctx) == nil {
		m.reloadState.cancel(context.Canceled)
	}
	m.reloadState = reloadState{}
}

// checkReload ends a reload's wait when its program is gone; the loop
// calls it after every event.
func (m *Manager) checkReload() {
	r := m.reloadState
	if r.cancel != nil && (m.proc == nil || m.proc.Pid() != r.pid || m.state == Exiting) {
		r.cancel(errProgramExited)
	}
}

// noticeFollower is a Reloader that follows the program's reports through
// the manager (Options.Notices), which hands it each one.
type noticeFollower interface{ Feed(text string) }

// NoticeReloader is the Reloader of a manager that reads the program's
// notifications itself (Options.Notices): the loop hands it every report
// of the program (Feed), and Wait follows them. Make it with
// NewNoticeReloader.
type NoticeReloader struct{ reports chan string }

// NewNoticeReloader returns a NoticeReloader.
func NewNoticeReloader() *NoticeReloader {
	return &NoticeReloader{reports: make(chan string, 64)}
}

// Feed passes one report of the program on; it never blocks the loop (a
// reload that is not waited for drops what it would not read).
func (r *NoticeReloader) Feed(text string) {
	select {
	case r.reports <- text:
	default:
	}
}

// Begin drops what the program reported before the reload signal.
func (r *NoticeReloader) Begin() {
	for {
		select {
		case <-r.reports:
		default:
			return
		}
	}
}

// Wait follows the reports until RELOADING=1 and then READY=1.
func (r *NoticeReloader) Wait(ctx context.Context) error {
	reloading := false
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case text := <-r.reports:
			if ReloadDone(text, &reloading) {
				return nil
			}
		}
	}
}

// ReloadDone reads one report: RELOADING=1 starts the reload, and a
// READY=1 after it (in the same report or a later one) ends it.
func ReloadDone(report string, reloading *bool) bool {
	for _, line := range strings.Split(report, "\n") {
		switch strings.TrimSpace(line) {
		case "RELOADING=1":
			*reloading = true
		case "READY=1":
			if *reloading {
				return true
			}
		}
	}
	return false
}
