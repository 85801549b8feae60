//go:build linux

package control

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// hangupWatcher tells when the peer of a connection has closed it for
// good, while a handler still works on its request (an "await" can wait
// for hours). Reading cannot tell: our clients half-close after their line,
// so end-of-file only means "nothing more to say". A full close does show:
// the socket reports EPOLLHUP once its peer is gone. The watcher keeps the
// connections in an epoll set of its own with no events requested (HUP and
// ERR are always reported), one-shot (a hang-up is reported once, not for
// as long as the socket stays open), and that epoll descriptor sits in
// Go's poller like any socket: no thread, no timer, no wake-up until a
// peer hangs up.
type hangupWatcher struct {
	ep *os.File

	mu      sync.Mutex
	next    uint32
	watched map[uint32]func()
}

func newHangupWatcher() (*hangupWatcher, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll for control connections: %w", err)
	}
	// Non-blocking, so that os.NewFile puts it in Go's poller (an epoll
	// descriptor is readable while it has events to report).
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("epoll for control connections: %w", err)
	}
	return &hangupWatcher{ep: os.NewFile(uintptr(fd), "control-hangups"), watched: map[uint32]func(){}}, nil
}

// watch calls gone (once, from the watcher's goroutine) when the peer of c
// has closed its end. The returned function stops watching; call it before
// closing c.
func (w *hangupWatcher) watch(c *net.UnixConn, gone func()) (unwatch func(), err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	epRaw, err := w.ep.SyscallConn()
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	token := w.next
	for _, taken := w.watched[token]; taken; _, taken = w.watched[token] {
		token++
	}
	w.next = token + 1
	var cerr error
	ctl := func(op int) {
		_ = epRaw.Control(func(ep uintptr) {
			_ = raw.Control(func(fd uintptr) {
				ev := unix.EpollEvent{Events: unix.EPOLLONESHOT, Fd: int32(token)}
				cerr = unix.EpollCtl(int(ep), op, int(fd), &ev)
			})
		})
	}
	ctl(unix.EPOLL_CTL_ADD)
	if cerr != nil {
		return nil, fmt.Errorf("watch control connection: %w", cerr)
	}
	w.watched[token] = gone
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if _, ok := w.watched[token]; !ok {
			return // reported and removed already
		}
		delete(w.watched, token)
		ctl(unix.EPOLL_CTL_DEL)
	}, nil
}

// run reports hang-ups until close is called.
func (w *hangupWatcher) run() {
	raw, err := w.ep.SyscallConn()
	if err != nil {
		return
	}
	events := make([]unix.EpollEvent, 64)
	_ = raw.Read(func(ep uintptr) bool {
		for {
			n, err := unix.EpollWait(int(ep), events, 0)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || n <= 0 {
				return false // nothing (more) to report: wait for the poller
			}
			for _, ev := range events[:n] {
				w.report(uint32(ev.Fd))
			}
		}
	})
}

// report tells the owner of a connection that its peer hung up.
func (w *hangupWatcher) report(token uint32) {
	w.mu.Lock()
	gone, ok := w.watched[token]
	delete(w.watched, token)
	w.mu.Unlock()
	if ok {
		gone()
	}
}

func (w *hangupWatcher) close() { _ = w.ep.Close() }
