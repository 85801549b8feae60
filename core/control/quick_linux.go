//go:build linux

package control

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"
	"unsafe"

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

// QuickAppender is a QuickHandler that can write some quick replies
// straight into the accept loop's buffer ("status", from a Board): no
// allocation per request. ok is false for a request it leaves to Serve.
type QuickAppender interface {
	AppendQuick(dst []byte, req Request) (reply []byte, ok bool)
}

// quickRead is the most the accept loop reads of a new connection: a whole
// request (MaxLine and its newline) fits.
const quickRead = MaxLine + 1

// A connection accepted before its request arrived (the client writes
// right after connect returns, and the accept loop may be quicker) waits
// in the accept loop's epoll set, costing the loop nothing, for at most
// quickWait; then, or when more than maxPending wait, a goroutine of its
// own takes it over, with the read timeout and eviction of any other.
const (
	quickWait  = 20 * time.Millisecond
	maxPending = 16
)

// pendingConn is an accepted connection whose request has not arrived.
type pendingConn struct {
	fd       int
	deadline time.Time
}

// acceptLoop accepts connections until the listener is shut down (Close)
// and answers quick requests itself, as a single-threaded C server does:
// on a thread of its own, blocked in epoll_wait on the listener and the
// pending connections, then accept4, a check of the peer, read, write,
// close. No wake-up goes through Go's poller or another goroutine.
// Everything else goes to a goroutine of its own (a.handOver).
func (s *Server) acceptLoop(a *acceptor) error {
	lfd, err := s.acceptFD()
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	defer func() { // under mu: Close never shuts down a reused descriptor
		s.mu.Lock()
		defer s.mu.Unlock()
		s.acceptFd = -1
		unix.Close(lfd)
	}()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("control socket: epoll: %w", err)
	}
	defer unix.Close(ep)
	if err := epollCtl(ep, unix.EPOLL_CTL_ADD, lfd); err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	// Pause wakes the loop through an eventfd: shutting the listener down
	// as Close does would end the socket for the next manager too.
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("control socket: eventfd: %w", err)
	}
	if err := epollCtl(ep, unix.EPOLL_CTL_ADD, wake); err != nil {
		unix.Close(wake)
		return fmt.Errorf("control socket: %w", err)
	}
	if !s.setWake(wake) { // paused meanwhile
		unix.Close(wake)
		return nil
	}
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.wakeFd = -1
		unix.Close(wake)
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	q, _ := a.h.(QuickHandler)
	buf := make([]byte, quickRead)
	events := make([]unix.EpollEvent, maxPending+1)
	var pending []pendingConn // oldest first
	defer func() {
		for _, p := range pending {
			unix.Close(p.fd)
			s.hold(-1)
		}
	}()
	// release takes a pending connection out of the epoll set and the
	// count; a goroutine or the loop serves it next.
	release := func(i int) int {
		fd := pending[i].fd
		pending = slices.Delete(pending, i, i+1)
		_ = epollCtl(ep, unix.EPOLL_CTL_DEL, fd)
		s.hold(-1)
		return fd
	}
	// serve takes a connection acceptRaw returned (or its error): it
	// answers a quick request of the owner, waits for one that has not
	// arrived, or hands the connection over. spin says that it answered.
	spin := false
	serve := func(fd int, err error) error {
		if err != nil {
			return a.failed(err)
		}
		a.accepted()
		n, res := 0, quickHandOver
		if q != nil && peerIsOwner(fd) {
			n, res = s.answerAtOnce(a.ctx, fd, buf, q, a.logger)
		}
		if res == quickNotYet && len(pending) < maxPending && s.hold(1) {
			if err := epollCtl(ep, unix.EPOLL_CTL_ADD, fd); err == nil {
				pending = append(pending, pendingConn{fd: fd, deadline: time.Now().Add(quickWait)})
				return nil
			}
			s.hold(-1)
		}
		if res == quickAnswered {
			spin = spinFor() > 0
			return nil
		}
		return a.handOver(fd, buf[:n])
	}
	for {
		timeout := -1
		if len(pending) > 0 {
			timeout = max(0, int((time.Until(pending[0].deadline)+time.Millisecond-1)/time.Millisecond))
		}
		n, err := unix.EpollWait(ep, events, timeout)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait on control socket: %w", err)
		}
		for _, ev := range events[:n] {
			if int(ev.Fd) == wake { // Pause: the connections waiting for their request go on in goroutines
				for len(pending) > 0 {
					if err := a.handOver(release(0), nil); err != nil {
						return err
					}
				}
				return nil
			}
			if int(ev.Fd) != lfd { // a pending connection spoke, or hung up
				i := slices.IndexFunc(pending, func(p pendingConn) bool { return p.fd == int(ev.Fd) })
				if i < 0 {
					continue
				}
				fd := release(i)
				n, res := s.answerAtOnce(a.ctx, fd, buf, q, a.logger)
				if res == quickAnswered {
					spin = spinFor() > 0
				} else if err := a.handOver(fd, buf[:n]); err != nil {
					return err
				}
				continue
			}
			fd, err := acceptRaw(lfd)
			if errors.Is(err, unix.EAGAIN) {
				if s.isClosed() { // shut down: readable, with nothing to accept
					return nil
				}
				continue
			}
			if err := serve(fd, err); err != nil {
				return err
			}
		}
		// A client that asks in a loop connects again within some tens
		// of microseconds of its answer: look for it awake for a moment,
		// which saves the loop a sleep and a wake-up (on another CPU, the
		// larger part of a round trip), rather than in epoll_wait.
		for spin && len(pending) == 0 {
			spin = false
			fd, err := s.spinAccept(lfd)
			if errors.Is(err, unix.EAGAIN) {
				break
			}
			if err := serve(fd, err); err != nil {
				return err
			}
		}
		for now := time.Now(); len(pending) > 0 && !now.Before(pending[0].deadline); {
			if err := a.handOver(release(0), nil); err != nil {
				return err
			}
		}
	}
}

// acceptFD returns the descriptor the accept loop waits on: a duplicate
// of the listener's, so that Close never closes a descriptor the loop may
// still use. Close shuts the socket down, which wakes the loop; the loop
// closes the descriptor when it returns.
func (s *Server) acceptFD() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.paused {
		return -1, net.ErrClosed
	}
	fd, err := unix.FcntlInt(uintptr(s.lfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	s.acceptFd = fd
	return fd, nil
}

// setWake records the accept loop's eventfd for Pause; false when the
// server is paused already.
func (s *Server) setWake(fd int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused || s.closed {
		return false
	}
	s.wakeFd = fd
	return true
}

// wakePaused ends the accept loop for Pause (mu held).
func (s *Server) wakePaused() {
	if s.wakeFd >= 0 {
		_, _ = unix.Write(s.wakeFd, binary.NativeEndian.AppendUint64(nil, 1))
	}
}

// wakeAccept ends the accept loop waiting on fd: the shut-down listener
// reports itself readable, with nothing to accept.
func wakeAccept(fd int) { _ = unix.Shutdown(fd, unix.SHUT_RDWR) }

// epollCtl adds (or removes) fd to the epoll set ep, for reading, with
// fd itself as the event's data.
func epollCtl(ep, op, fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	return unix.EpollCtl(ep, op, fd, &ev)
}

// spinFor is how long the accept loop looks for the next connection after
// an answer before it sleeps: a client that asks in a loop connects again
// some tens of microseconds after its answer. None with less than two
// CPUs to use (availableCPUs: a cgroup's CPU limit counts), where looking
// would only keep that client from running, or spend the job's CPU quota.
// Worked out when a server first answers, not when a client starts.
var spinFor = sync.OnceValue(func() time.Duration {
	if availableCPUs() < 2 {
		return 0
	}
	return 50 * time.Microsecond
})

// spinAccept tries acceptRaw until a connection comes, or spinFor has
// passed, or Pause or Close was called (EAGAIN), yielding the CPU between
// tries to whatever else is runnable on it.
func (s *Server) spinAccept(lfd int) (int, error) {
	d := spinFor()
	for start := time.Now(); ; {
		fd, err := acceptRaw(lfd)
		if !errors.Is(err, unix.EAGAIN) {
			if err == nil {
				s.foundAwake.Add(1)
			}
			return fd, err
		}
		if s.stopLooking.Load() || time.Since(start) >= d {
			return fd, err
		}
		_, _, _ = unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
}

// acceptRaw accepts one connection as a bare non-blocking descriptor
// (close-on-exec); EAGAIN when none is pending.
func acceptRaw(lfd int) (int, error) {
	for {
		// No address asked for: our peers have none, and x/sys refuses
		// to decode an unnamed one.
		r, _, errno := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		if errno == 0 {
			return int(r), nil
		}
		if errno == unix.EINTR || errno == unix.ECONNABORTED {
			continue
		}
		return -1, errno
	}
}

// peerIsOwner says whether the peer of fd runs as the owner (or root).
// Others are refused, and told so, by a goroutine.
func peerIsOwner(fd int) bool {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	return err == nil && (cred.Uid == 0 || int(cred.Uid) == os.Geteuid())
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

// quickResult is what answerAtOnce made of a connection.
type quickResult int

const (
	quickAnswered quickResult = iota // answered and closed
	quickNotYet                      // its request has not arrived yet
	quickHandOver                    // for a goroutine of its own
)

// answerAtOnce serves a connection of the owner on the accept loop when
// it can: its whole request line is there, the handler answers it at
// once and the reply fits the socket's buffer. It then closes fd. When
// nothing has arrived yet it says so; otherwise it returns what it read of
// the request (buf[:n]), and the connection is served as before, by a
// goroutine of its own.
func (s *Server) answerAtOnce(ctx context.Context, fd int, buf []byte, q QuickHandler, logger *slog.Logger) (n int, res quickResult) {
	var err error
	for {
		n, err = rawRW(unix.SYS_READ, fd, buf)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if errors.Is(err, unix.EAGAIN) {
		return 0, quickNotYet
	}
	if err != nil || n <= 0 {
		// End of file, or an error: the goroutine reads again and says
		// what is wrong.
		return 0, quickHandOver
	}
	data := buf[:n]
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return n, quickHandOver
	}
	req, errReply := parseLine(data[:i])
	if errReply == "" && !q.Quick(req) {
		return n, quickHandOver
	}
	// The request is parsed: buf holds the reply from here on.
	s.requests.Add(1)
	reply, appended := append(buf[:0], errReply...), errReply != ""
	if a, ok := q.(QuickAppender); ok && !appended {
		reply, appended = a.AppendQuick(buf[:0], req)
	}
	if !appended {
		reply = append(buf[:0], serveSafely(ctx, q, req, logger)...)
	}
	if len(reply) > 0 && reply[len(reply)-1] != '\n' {
		reply = append(reply, '\n')
	}
	s.writeReply(fd, reply, logger)
	return 0, quickAnswered
}

// writeReply writes a quick reply to fd and closes it; what does not fit
// the socket's buffer is written off the accept loop.
func (s *Server) writeReply(fd int, reply []byte, logger *slog.Logger) {
	for len(reply) > 0 {
		w, err := rawRW(unix.SYS_WRITE, fd, reply)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			// A reply larger than the socket's buffer, to a client
			// that does not read yet: the rest is written with a
			// deadline, off the accept loop.
			s.finishReply(fd, string(reply), logger)
			return
		}
		if err != nil {
			logger.Warn(fmt.Sprintf("Error sending reply: %v", err))
			break
		}
		reply = reply[w:]
	}
	unix.Close(fd)
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

// rawRW reads or writes a non-blocking descriptor without telling the
// scheduler (it never blocks).
func rawRW(trap uintptr, fd int, p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	r, _, errno := unix.RawSyscall(trap, uintptr(fd), uintptr(ptr), uintptr(len(p)))
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}
