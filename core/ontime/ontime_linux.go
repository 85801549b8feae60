package ontime

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// timerfd is a CLOCK_MONOTONIC timerfd (the clock Go's timers run on) in
// the runtime's poller, with a goroutine that reads its expirations.
type timerfd struct {
	f    *os.File
	rc   syscall.RawConn
	done chan struct{}
}

func newNudger() (nudger, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	// Non-blocking: os.NewFile puts it in the runtime's poller, which is
	// the point.
	f := os.NewFile(uintptr(fd), "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	t := &timerfd{f: f, rc: rc, done: make(chan struct{})}
	go t.drain()
	return t, nil
}

// drain reads the expirations: the read returning is the runtime's poller
// waking up, which is all a nudge is for. It ends when the file is closed
// (or, which does not happen to a timerfd, on any other error).
func (t *timerfd) drain() {
	defer close(t.done)
	var buf [8]byte
	for {
		if _, err := t.f.Read(buf[:]); err != nil {
			return
		}
	}
}

func (t *timerfd) after(d time.Duration) error {
	if d <= 0 {
		d = 1 // 0 would disarm
	}
	v := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	return t.settime(&v)
}

func (t *timerfd) stop() error {
	return t.settime(&unix.ItimerSpec{})
}

func (t *timerfd) settime(v *unix.ItimerSpec) error {
	var serr error
	if err := t.rc.Control(func(fd uintptr) { serr = unix.TimerfdSettime(int(fd), 0, v, nil) }); err != nil {
		return err
	}
	return serr
}

func (t *timerfd) close() error {
	err := t.f.Close()
	<-t.done
	return err
}
