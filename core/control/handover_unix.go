//go:build unix

package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// Handover is what a manager that upgrades in place hands the next one
// of its control socket: the listening socket itself (a descriptor, so
// clients never find nobody listening) and which file at the path is
// ours.
type Handover struct {
	Path string `json:"path"`
	Ino  uint64 `json:"ino"`
	Dev  uint64 `json:"dev"`
}

// File is a duplicate of the listening socket, for the next manager, and
// what identifies the socket file as ours.
func (s *Server) File() (*os.File, Handover, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, Handover{}, fmt.Errorf("control socket descriptor: %w", net.ErrClosed)
	}
	fd, err := unix.FcntlInt(uintptr(s.lfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, Handover{}, fmt.Errorf("control socket descriptor: %w", err)
	}
	return os.NewFile(uintptr(fd), "control-socket"), Handover{Path: s.path, Ino: s.ino, Dev: s.dev}, nil
}

// Adopt serves the listening socket f that a previous manager handed
// over, at h.Path; f is taken over.
func Adopt(f *os.File, h Handover) (*Server, error) {
	defer f.Close()
	rc, err := f.SyscallConn() // not Fd: that would make the socket blocking
	if err != nil {
		return nil, fmt.Errorf("adopt the control socket: %w", err)
	}
	lfd, cerr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) { lfd, cerr = adoptListener(int(fd)) }); err != nil {
		return nil, fmt.Errorf("adopt the control socket: %w", err)
	}
	if cerr != nil {
		return nil, fmt.Errorf("adopt the control socket: %w", cerr)
	}
	s := newServer(lfd, h.Path)
	s.ino, s.dev = h.Ino, h.Dev
	return s, nil
}

// adoptListener returns a non-blocking, close-on-exec duplicate of fd
// when it is a listening unix stream socket.
func adoptListener(fd int) (int, error) {
	if dom, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN); err != nil || dom != unix.AF_UNIX {
		return -1, errors.New("not a unix socket")
	}
	if typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || typ != unix.SOCK_STREAM {
		return -1, errors.New("not a stream socket")
	}
	if on, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || on == 0 {
		return -1, errors.New("not a listening socket")
	}
	d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.SetNonblock(d, true); err != nil {
		unix.Close(d)
		return -1, err
	}
	return d, nil
}

// Pause stops the accept loop of Serve (Serve itself returns once the
// connections it serves have ended) and returns once it has stopped; the
// socket stays open and at its path, so connections wait in its backlog
// for whoever serves it next: Serve again, or the next manager.
func (s *Server) Pause() {
	s.mu.Lock()
	s.paused = true
	s.stopLooking.Store(true)
	done := s.acceptDone
	s.wakePaused()
	s.mu.Unlock()
	if done != nil {
		<-done
	}
}

// Resume undoes Pause; call Serve again to accept.
func (s *Server) Resume() {
	s.mu.Lock()
	s.paused = false
	s.stopLooking.Store(s.closed)
	s.mu.Unlock()
}

// isPaused reports a Pause.
func (s *Server) isPaused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused
}

// startAccepting registers the accept loop that Pause waits for.
func (s *Server) startAccepting() (done func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused {
		return nil, errPaused
	}
	ch := make(chan struct{})
	s.acceptDone = ch
	return func() { close(ch) }, nil
}

var errPaused = errors.New("control socket paused")

// AdoptConn serves a connection a previous manager handed over with the
// request it had sent (line, without its newline), as if it had just
// arrived: from the next Serve on. f is taken over.
func (s *Server) AdoptConn(f *os.File, line string) error {
	uc, err := adoptFile(f)
	if err != nil {
		return fmt.Errorf("a control connection handed over: %w", err)
	}
	s.mu.Lock()
	s.handed = append(s.handed, handedConn{uc, line})
	s.mu.Unlock()
	return nil
}

// handedConn is a connection handed over with its request.
type handedConn struct {
	c    *net.UnixConn
	line string
}

// takeHanded returns the connections to serve first.
func (s *Server) takeHanded() []handedConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.handed
	s.handed = nil
	return h
}

type connKey struct{}

// Conn is the connection a request arrived on, for a handler that hands
// it over (upgrade: the next manager answers it); nil on the quick path.
func Conn(ctx context.Context) *net.UnixConn {
	c, _ := ctx.Value(connKey{}).(*net.UnixConn)
	return c
}

// activeChanged counts cn in (or out of) the connections being served
// that do not wait in "await", and wakes Quiesce. mu held.
func (s *Server) activeChanged(cn *conn, in bool) {
	if s.active == nil {
		s.active = map[*conn]struct{}{}
	}
	if in {
		s.active[cn] = struct{}{}
	} else {
		delete(s.active, cn)
	}
	if s.quiet != nil {
		close(s.quiet)
		s.quiet = nil
	}
}

// park notes that cn waits in "await": an upgrade hands it over with its
// request instead of waiting for it.
func (s *Server) park(cn *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cn.parked = true
	s.activeChanged(cn, false)
}

// Quiesce waits, after Pause, until every connection this server serves
// has been answered or waits in "await" (the one of except aside: the
// request that asked for it), or ctx ends; it reports how many are still
// being served then (clients that connected and said nothing, or a slow
// handler). An upgrade calls it so that the execve ends no request half
// served.
func (s *Server) Quiesce(ctx context.Context, except *net.UnixConn) int {
	for {
		s.mu.Lock()
		n := 0
		for cn := range s.active {
			if cn.c != except {
				n++
			}
		}
		if n == 0 {
			s.mu.Unlock()
			return 0
		}
		if s.quiet == nil {
			s.quiet = make(chan struct{})
		}
		ch := s.quiet
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return n
		}
	}
}
