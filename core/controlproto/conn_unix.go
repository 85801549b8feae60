//go:build unix

package controlproto

import (
	"errors"
	"io"
	"os"
	"syscall"
	"time"
)

// conn is a connected unix stream socket: an *os.File over a non-blocking
// descriptor, which the runtime's poller serves with deadlines as it
// serves net's connections. Its errors read as net.UnixConn's did when the
// client dialled with net.DialUnix ("read unix @->/run/zd.sock.zd42:
// read: connection reset by peer"), and wrap the same causes.
type conn struct {
	f            *os.File
	laddr, raddr string
	hasLaddr     bool
}

// dial connects to the unix stream socket at path, as net.DialUnix does:
// a non-blocking socket, so that a listener whose queue is full is EAGAIN
// at once rather than a wait; its errors are "dial unix PATH: connect:
// ...". A unix-socket connect does not wait on the network, and nothing
// here resolves a name.
func dial(path string) (*conn, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, &opError{op: "dial", addr: path, err: os.NewSyscallError("socket", err)}
	}
	err = syscall.Connect(fd, &syscall.SockaddrUnix{Name: path})
	wait := errors.Is(err, syscall.EINPROGRESS) || errors.Is(err, syscall.EALREADY) || errors.Is(err, syscall.EINTR)
	if err != nil && !wait && !errors.Is(err, syscall.EISCONN) {
		syscall.Close(fd)
		return nil, &opError{op: "dial", addr: path, err: os.NewSyscallError("connect", err)}
	}
	f := os.NewFile(uintptr(fd), path)
	if wait {
		// Linux never gets here for a unix socket (it is connected or
		// EAGAIN at once); wait for the connect as net does, in case.
		if err := awaitConnect(f); err != nil {
			f.Close()
			return nil, &opError{op: "dial", addr: path, err: err}
		}
	}
	c := &conn{f: f, raddr: path}
	if sa, err := syscall.Getsockname(fd); err == nil {
		if u, ok := sa.(*syscall.SockaddrUnix); ok {
			c.laddr, c.hasLaddr = u.Name, true // "@" when unbound
		}
	}
	if sa, err := syscall.Getpeername(fd); err == nil {
		if u, ok := sa.(*syscall.SockaddrUnix); ok {
			c.raddr = u.Name // the name the server bound
		}
	}
	return c, nil
}

// awaitConnect waits for a connect in progress on f to end.
func awaitConnect(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	err = rc.Write(func(fd uintptr) bool {
		n, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		switch {
		case err != nil:
			cerr = os.NewSyscallError("getsockopt", err)
		case n == int(syscall.EINPROGRESS) || n == int(syscall.EALREADY) || n == int(syscall.EINTR):
			return false
		case n != 0 && n != int(syscall.EISCONN):
			cerr = os.NewSyscallError("connect", syscall.Errno(n))
		default:
			if _, err := syscall.Getpeername(int(fd)); err != nil {
				return false // not connected yet
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	return cerr
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.f.Read(b)
	return n, c.wrap("read", err)
}

func (c *conn) Write(b []byte) (int, error) {
	n, err := c.f.Write(b)
	return n, c.wrap("write", err)
}

// CloseWrite shuts down the writing side: the server reads the end of
// the request.
func (c *conn) CloseWrite() error {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Shutdown(int(fd), syscall.SHUT_WR) }); err != nil {
		return err
	}
	return c.wrap("close", os.NewSyscallError("shutdown", serr))
}

func (c *conn) SetDeadline(t time.Time) error { return c.f.SetDeadline(t) }

func (c *conn) Close() error { return c.f.Close() }

// wrap gives an error of c's file the words net's connections use: the
// system call's name before an errno, and the operation and addresses.
func (c *conn) wrap(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var errno syscall.Errno
	if errors.As(err, &errno) && !isSyscallError(err) {
		err = os.NewSyscallError(op, errno)
	}
	return &opError{op: op, laddr: c.laddr, hasLaddr: c.hasLaddr, addr: c.raddr, err: err}
}

func isSyscallError(err error) bool {
	var se *os.SyscallError
	return errors.As(err, &se)
}

// opError is net.OpError's text for a unix socket: "OP unix [LADDR->]ADDR:
// ERR". It unwraps to ERR.
type opError struct {
	op, laddr, addr string
	hasLaddr        bool
	err             error
}

func (e *opError) Error() string {
	s := e.op + " unix "
	if e.hasLaddr {
		s += e.laddr + "->"
	}
	return s + e.addr + ": " + e.err.Error()
}

func (e *opError) Unwrap() error { return e.err }
