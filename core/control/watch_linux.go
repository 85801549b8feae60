//go:build linux

package control

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// WatchPath calls changed whenever the entry at path is removed, renamed
// or replaced (inotify on its directory: no polling, no wake-up while
// nothing happens there), and once when the watch begins, for what
// changed before. It returns when ctx ends, once its inotify descriptor
// is closed (the kernel takes a grace period, some milliseconds, to close
// one).
func WatchPath(ctx context.Context, path string, changed func()) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("inotify: %w", err)
	}
	f := os.NewFile(uintptr(fd), "inotify") // non-blocking: Close ends Read
	const mask = unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_CREATE
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(path), mask); err != nil {
		f.Close()
		return fmt.Errorf("watch %s: %w", filepath.Dir(path), err)
	}
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closed)
		f.Close()
	})
	defer func() {
		if stop() { // ctx did not end: ours to close
			f.Close()
		} else { // the close that ended Read may still be under way
			<-closed
		}
	}()
	changed()
	name := filepath.Base(path)
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := f.Read(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return fmt.Errorf("read inotify: %w", err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameBytes := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if i := indexZero(nameBytes); i >= 0 {
				nameBytes = nameBytes[:i]
			}
			if string(nameBytes) == name {
				changed()
			}
		}
	}
}

func indexZero(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// Owns reports whether path still holds the socket this server created.
func (s *Server) Owns() bool {
	var st unix.Stat_t
	return s.ino != 0 && unix.Stat(s.path, &st) == nil && st.Ino == s.ino && uint64(st.Dev) == s.dev
}
