//go:build linux

package logfile

import (
	"errors"
	"io"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// spliceFrom copies in to the file with splice(2), from the pipe to the
// file inside the kernel, when the sink adds nothing to the bytes (no
// timestamps), in is a pipe and the file a regular one. It returns true at
// the end of the input, false when splicing does not work here (nothing
// read is lost: the bytes stay in the pipe) and the caller reads and
// writes instead.
//
// What the read loop promises holds: nothing is held in the sink's memory
// (a crash loses no more than one read); a failed write leaves its bytes
// in the pipe and is retried with back-off, nothing more is taken from the
// pipe meanwhile; rotation by size and Reopen see every chunk, since the
// lock is taken around each splice and the file looked up again.
func (s *Sink) spliceFrom(in io.Reader) bool {
	if s.stamps {
		return false
	}
	sc, ok := in.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	fd := -1
	if rc.Control(func(f uintptr) { fd = int(f) }) != nil || fd < 0 {
		return false
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return false
	}
	delay := retryMin
	for {
		s.mu.Lock()
		n, err := s.spliceOnce(fd)
		if err == nil || !errors.Is(err, unix.EAGAIN) && !cannotSplice(err) {
			s.noteWrite(err)
		}
		s.mu.Unlock()
		switch {
		case err == nil && n == 0:
			return true // end of file: every writer is gone
		case err == nil:
			delay = retryMin
		case errors.Is(err, unix.EAGAIN):
			if !waitInput(fd) {
				return true
			}
		case cannotSplice(err):
			return false
		default: // the write failed: its bytes are still in the pipe
			time.Sleep(delay)
			delay = min(delay*2, retryMax)
		}
	}
}

// spliceOnce moves one chunk from the pipe at in to the file, rotating
// first when the chunk would take the file past max-size. It returns
// EAGAIN when the pipe is empty but still has writers. Called with mu held.
func (s *Sink) spliceOnce(in int) (int, error) {
	if s.spliceTo != s.f {
		if !needsLock(s.f) {
			return 0, unix.EINVAL // not a regular file: read and write
		}
		// splice(2) refuses a file opened for appending: the sink's own
		// descriptor writes at the end of the file instead (below).
		if err := setAppend(s.f.Fd(), false); err != nil {
			return 0, unix.EINVAL
		}
		s.spliceTo = s.f
	}
	want := ChunkSize
	if s.maxSize > 0 {
		avail, err := unix.IoctlGetInt(in, unix.TIOCINQ) // FIONREAD
		if err != nil {
			return 0, unix.EINVAL
		}
		if avail == 0 {
			return 0, unix.EAGAIN // wait for a chunk whose size is known
		}
		want = min(avail, ChunkSize)
		if s.size > 0 && s.size+int64(want) > s.maxSize {
			if err := s.rotate(); err != nil {
				return 0, err
			}
			return s.spliceOnce(in) // the new file loses its O_APPEND first
		}
	}
	out := int(s.f.Fd())
	// At the end, as O_APPEND would write: the file may have been cut
	// short (copytruncate) since the last chunk.
	if _, err := unix.Seek(out, 0, io.SeekEnd); err != nil {
		return 0, err
	}
	n, err := unix.Splice(in, nil, out, nil, want, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
	if n < 0 {
		n = 0
	}
	s.size += n
	s.written += uint64(n)
	return int(n), err
}

// cannotSplice: errors that say splice(2) does not work for these files
// (as opposed to a failed write).
func cannotSplice(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EBADF) ||
		errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EOPNOTSUPP)
}

// waitInput blocks until the pipe has bytes or no more writers. It returns
// false at the end of the input.
func waitInput(fd int) bool {
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		_, err := unix.Poll(pfd, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return true // splice will say what is wrong
		}
		if pfd[0].Revents&unix.POLLIN == 0 && pfd[0].Revents&unix.POLLHUP != 0 {
			return false
		}
		return true
	}
}

// setAppend sets or clears O_APPEND on fd.
func setAppend(fd uintptr, on bool) error {
	fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	if on {
		fl |= unix.O_APPEND
	} else {
		fl &^= unix.O_APPEND
	}
	_, err = unix.FcntlInt(fd, unix.F_SETFL, fl)
	return err
}
