//go:build linux

package control

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// QuickHandler is a Handler that can tell the requests it answers at once
// (they never wait for the program, a plugin or a client). The server
// answers those on its accept loop, with no goroutine of their own, when
// the request has arrived with its connection.
type QuickHandler interface {
	Handler
	Quick(req Request) bool
}

// quickRead is the most the accept loop reads of a new connection: a whole
// request (MaxLine and its newline) fits.
const quickRead = MaxLine + 1

// acceptConn returns the listener's descriptor for acceptRaw: a
// duplicate in Go's poller (a listener's own RawConn cannot wait), closed
// by Close.
func (s *Server) acceptConn() (syscall.RawConn, error) {
	rc, err := s.l.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(lfd uintptr) {
		fd, derr = unix.FcntlInt(lfd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "control-listener")
	s.mu.Lock()
	if s.closed || s.paused {
		s.mu.Unlock()
		f.Close()
		return nil, net.ErrClosed
	}
	s.acceptFile = f
	s.mu.Unlock()
	return f.SyscallConn()
}

// acceptRaw accepts one connection as a bare non-blocking descriptor
// (close-on-exec), waiting in Go's poller while none is pending.
func acceptRaw(l syscall.RawConn) (int, error) {
	fd := -1
	var aerr error
	err := l.Read(func(lfd uintptr) bool {
		for {
			// No address asked for: our peers have none, and x/sys
			// refuses to decode an unnamed one.
			r, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, lfd, 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
			fd, aerr = int(r), nil
			if errno != 0 {
				fd, aerr = -1, errno
			}
			if errors.Is(aerr, unix.EINTR) || errors.Is(aerr, unix.ECONNABORTED) {
				continue
			}
			return !errors.Is(aerr, unix.EAGAIN)
		}
	})
	if err != nil {
		return -1, err
	}
	if aerr != nil {
		return -1, aerr
	}
	return fd, nil
}

// adopt makes a connection of an accepted descriptor, for a goroutine to
// serve (the descriptor is duplicated into Go's poller and closed).
func adopt(fd int) (*net.UnixConn, error) {
	return adoptFile(os.NewFile(uintptr(fd), "control-connection"))
}

// adoptFile makes a connection of f (duplicated into Go's poller); f is
// closed.
func adoptFile(f *os.File) (*net.UnixConn, error) {
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("adopt: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("control connection is a %T", c)
	}
	return uc, nil
}

// answerAtOnce serves a new connection on the accept loop when it can:
// the peer is the owner (or root), its whole request line is there
// already, the handler answers it at once and the reply fits the socket's
// buffer. It then closes fd and reports done. Otherwise it returns what
// it read of the request (buf[:n]), and the connection is served as
// before, by a goroutine of its own.
func (s *Server) answerAtOnce(ctx context.Context, fd int, buf []byte, h Handler, logger *slog.Logger) (n int, done bool) {
	q, ok := h.(QuickHandler)
	if !ok {
		return 0, false
	}
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil || (cred.Uid != 0 && int(cred.Uid) != os.Geteuid()) {
		return 0, false // refused (and said so) by the goroutine
	}
	for {
		n, err = unix.Read(fd, buf)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil || n <= 0 {
		// Not there yet (EAGAIN), or end of file: the goroutine reads
		// again and says what is wrong.
		return 0, false
	}
	data := buf[:n]
	if bytes.IndexByte(data, '\n') < 0 {
		return n, false
	}
	req, errReply := ReadRequest(bytes.NewReader(data))
	if errReply == "" && !q.Quick(req) {
		return n, false
	}
	reply := errReply
	if reply == "" {
		reply = serveSafely(ctx, h, req, logger)
	}
	if reply != "" && !strings.HasSuffix(reply, "\n") {
		reply += "\n"
	}
	for len(reply) > 0 {
		w, err := unix.Write(fd, []byte(reply))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			// A reply larger than the socket's buffer, to a client
			// that does not read yet: the rest is written with a
			// deadline, off the accept loop.
			s.finishReply(fd, reply, logger)
			return 0, true
		}
		if err != nil {
			logger.Warn(fmt.Sprintf("Error sending reply: %v", err))
			break
		}
		reply = reply[w:]
	}
	unix.Close(fd)
	return 0, true
}

// finishReply writes the rest of a reply to fd and closes it, from a
// goroutine of its own bounded by the read timeout; the connection counts
// as held meanwhile.
func (s *Server) finishReply(fd int, reply string, logger *slog.Logger) {
	c, err := adopt(fd)
	if err != nil {
		logger.Warn(fmt.Sprintf("Error sending reply: %v", err))
		return
	}
	cn := &conn{c: c}
	s.mu.Lock()
	s.held++
	s.mu.Unlock()
	s.writers.Go(func() {
		defer s.untrack(cn)
		defer c.Close()
		_ = c.SetWriteDeadline(time.Now().Add(s.readTimeout()))
		if _, err := c.Write([]byte(reply)); err != nil {
			logger.Warn(fmt.Sprintf("Error sending reply: %v", err))
		}
	})
}
