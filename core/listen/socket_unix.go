//go:build unix

package listen

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Socket is one held listen socket.
type Socket struct {
	Spec
	Addr Address
	// File is the listening socket, in blocking mode, as the program gets
	// it.
	File *os.File
	// created is set when this manager created the unix socket's file,
	// which Close then removes.
	created bool
	ino     uint64
}

// Set is the listen sockets of one job, in the order of its blocks.
type Set struct {
	socks []*Socket
}

// BindError says which socket could not be bound, and why.
type BindError struct {
	Index int // into the specs
	Spec  Spec
	Err   error
}

func (e *BindError) Error() string {
	return fmt.Sprintf("listen %q: cannot listen on %s: %v", e.Spec.Name, e.Spec.Address, e.Err)
}

func (e *BindError) Unwrap() error { return e.Err }

// ErrInUse is a BindError's reason when something else listens at the
// address.
var ErrInUse = errors.New("the address is already in use")

// Bind binds and listens on every spec, in order; on an error, what was
// bound is closed again and the *BindError names the spec.
func Bind(specs []Spec) (*Set, error) {
	s := &Set{}
	for i, spec := range specs {
		sock, err := bind(spec)
		if err != nil {
			s.Close()
			return nil, &BindError{Index: i, Spec: spec, Err: err}
		}
		s.socks = append(s.socks, sock)
	}
	return s, nil
}

// Adopt takes over listen sockets that are already open (inherited from
// the manager that held them before), one per spec and in the same order:
// each must be a listening stream socket at the spec's address. The files
// belong to the Set from then on; unix socket files are removed by Close
// as if this manager had created them.
func Adopt(specs []Spec, files []*os.File) (*Set, error) {
	if len(files) != len(specs) {
		return nil, fmt.Errorf("adopt listen sockets: %d descriptors for %d listen blocks", len(files), len(specs))
	}
	s := &Set{}
	for i, spec := range specs {
		addr, err := ParseAddress(spec.Address)
		if err != nil {
			return nil, &BindError{Index: i, Spec: spec, Err: err}
		}
		if err := checkListening(files[i], addr); err != nil {
			return nil, &BindError{Index: i, Spec: spec, Err: err}
		}
		sock := &Socket{Spec: spec, Addr: addr, File: files[i], created: addr.Network == "unix"}
		if addr.Network == "unix" {
			if ino, ok := inode(addr.Path); ok {
				sock.ino = ino
			}
		}
		s.socks = append(s.socks, sock)
	}
	return s, nil
}

// Sockets are the held sockets, in order.
func (s *Set) Sockets() []*Socket {
	if s == nil {
		return nil
	}
	return s.socks
}

// Files are the sockets' descriptors, in order: the program's 3, 4, ….
func (s *Set) Files() []*os.File {
	out := make([]*os.File, len(s.Sockets()))
	for i, sock := range s.Sockets() {
		out[i] = sock.File
	}
	return out
}

// Names are the sockets' names, in order, for LISTEN_FDNAMES.
func (s *Set) Names() []string {
	out := make([]string, len(s.Sockets()))
	for i, sock := range s.Sockets() {
		out[i] = sock.Name
	}
	return out
}

// Close closes every socket and removes the unix socket files this
// manager created (only while they are still the ones it created); safe
// to call more than once.
func (s *Set) Close() error {
	if s == nil {
		return nil
	}
	var errs []error
	for _, sock := range s.socks {
		if sock.created {
			if ino, ok := inode(sock.Addr.Path); ok && ino == sock.ino {
				if err := os.Remove(sock.Addr.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
					errs = append(errs, err)
				}
			}
		}
		if err := sock.File.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.socks = nil
	return errors.Join(errs...)
}

// CheckFree says whether spec's address could be bound now: nil when it
// is free, an error wrapping ErrInUse when something listens there, or
// another reason it cannot be bound. It binds nothing that stays.
func CheckFree(spec Spec) error {
	addr, err := ParseAddress(spec.Address)
	if err != nil {
		return err
	}
	if addr.Network == "unix" {
		_, err := checkUnixPath(addr.Path)
		return err
	}
	fd, err := tcpSocket(addr)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return nil
}

func bind(spec Spec) (*Socket, error) {
	addr, err := ParseAddress(spec.Address)
	if err != nil {
		return nil, err
	}
	backlog := spec.Backlog
	if backlog == 0 {
		backlog = SoMaxConn()
	}
	sock := &Socket{Spec: spec, Addr: addr}
	var fd int
	if addr.Network == "unix" {
		mode := spec.Mode
		if mode == 0 {
			mode = DefaultMode
		}
		fd, sock.ino, err = unixSocket(addr.Path, mode&0o777)
		sock.created = err == nil
	} else {
		fd, err = tcpSocket(addr)
	}
	if err != nil {
		return nil, err
	}
	if err := unix.Listen(fd, backlog); err != nil {
		unix.Close(fd)
		if sock.created {
			_ = os.Remove(addr.Path)
		}
		return nil, translate(fmt.Errorf("listen: %w", err))
	}
	sock.File = os.NewFile(uintptr(fd), "listen "+spec.Name)
	return sock, nil
}

// tcpSocket binds a TCP socket at addr with SO_REUSEADDR (a restarted
// manager binds again at once, beside connections in TIME_WAIT).
func tcpSocket(addr Address) (int, error) {
	family := unix.AF_INET
	if addr.AddrPort.Addr().Is6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("setsockopt SO_REUSEADDR: %w", err)
	}
	var sa unix.Sockaddr
	ip := addr.AddrPort.Addr()
	if ip.Is4() {
		sa = &unix.SockaddrInet4{Port: int(addr.AddrPort.Port()), Addr: ip.As4()}
	} else {
		sa6 := &unix.SockaddrInet6{Port: int(addr.AddrPort.Port()), Addr: ip.As16()}
		if z := ip.Zone(); z != "" {
			index, err := interfaceIndex(z)
			if err != nil {
				unix.Close(fd)
				return -1, fmt.Errorf("interface %q: %w", z, err)
			}
			sa6.ZoneId = uint32(index)
		}
		sa = sa6
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, translate(err)
	}
	return fd, nil
}

// unixSocket binds a unix socket at path as the control socket is bound:
// at a temporary name, then link(2)ed into place, so that a connecting
// client never finds a socket that does not listen yet. A socket already
// at path is replaced only when it is stale (it refuses connections) and
// its owner is this user; anything else is left alone.
//
// The socket gets mode from the start (bind creates it with 0777 &^
// umask, and the umask is set for the bind): a chmod by name afterwards
// could follow a link put in its place.
func unixSocket(path string, mode uint32) (int, uint64, error) {
	tmp := path + ".zd" + strconv.Itoa(os.Getpid())
	if len(tmp) > MaxPath {
		return -1, 0, fmt.Errorf("the path is too long with the temporary suffix (%d bytes, limit %d)", len(tmp), MaxPath)
	}
	_ = os.Remove(tmp)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, fmt.Errorf("socket: %w", err)
	}
	old := unix.Umask(int(^mode & 0o777))
	err = unix.Bind(fd, &unix.SockaddrUnix{Name: tmp})
	unix.Umask(old)
	if err != nil {
		unix.Close(fd)
		return -1, 0, translate(err)
	}
	defer os.Remove(tmp)
	for try := 0; ; try++ {
		err := os.Link(tmp, path)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || try == 3 {
			unix.Close(fd)
			return -1, 0, fmt.Errorf("link the socket into place: %w", err)
		}
		stale, err := checkUnixPath(path)
		if err != nil {
			unix.Close(fd)
			return -1, 0, err
		}
		if stale {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				unix.Close(fd)
				return -1, 0, fmt.Errorf("remove the stale socket: %w", err)
			}
		}
	}
	ino, _ := inode(path)
	return fd, ino, nil
}

// checkUnixPath says whether path may take a new socket: free (false,
// nil), a stale socket of ours that may be replaced (true, nil), or why
// not.
func checkUnixPath(path string) (stale bool, err error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, fmt.Errorf("inspect %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return false, fmt.Errorf("%s exists and is not a socket; it was left alone", path)
	}
	if int(st.Uid) != os.Geteuid() {
		return false, fmt.Errorf("%s is a socket of uid %d, not ours; it was left alone", path, st.Uid)
	}
	// A unix-socket connect does not wait on the network (a full listen
	// queue is EAGAIN at once): the probe needs no timeout.
	err = probeUnix(path)
	if err == nil {
		return false, ErrInUse
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true, nil
	}
	return false, fmt.Errorf("%s exists and cannot be probed (left alone): %w", path, err)
}

// probeUnix connects to the unix socket at path and hangs up, as
// net.DialUnix connects (a non-blocking socket: a full listen queue is
// EAGAIN at once), its errors in that function's words: "dial unix PATH:
// connect: connection refused".
func probeUnix(path string) error {
	call := "socket"
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err == nil {
		call = "connect"
		err = syscall.Connect(fd, &syscall.SockaddrUnix{Name: path})
		syscall.Close(fd)
	}
	if err == nil || err == syscall.EISCONN {
		return nil
	}
	return fmt.Errorf("dial unix %s: %w", path, os.NewSyscallError(call, err))
}

// checkListening checks that f is a listening stream socket at addr.
func checkListening(f *os.File, addr Address) error {
	fd := int(f.Fd())
	acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil {
		return fmt.Errorf("descriptor %d is not a socket: %w", fd, err)
	}
	if acc != 1 {
		return fmt.Errorf("descriptor %d is not listening", fd)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fmt.Errorf("getsockname of descriptor %d: %w", fd, err)
	}
	got := sockName(sa)
	if want := addr.String(); got != want && !(addr.Network == "unix" && strings.HasPrefix(got, "unix:"+addr.Path+".zd")) {
		return fmt.Errorf("descriptor %d listens on %s, not on %s", fd, got, want)
	}
	return nil
}

// sockName is a socket's address as Address.String writes it: unix:PATH,
// HOST:PORT, [HOST]:PORT; an IPv4-mapped address reads as IPv4 (as
// net.IP's String has it).
func sockName(sa unix.Sockaddr) string {
	switch sa := sa.(type) {
	case *unix.SockaddrUnix:
		return "unix:" + sa.Name
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)).String()
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port)).String()
	}
	return ""
}

// SoMaxConn is the kernel's limit of a listen backlog
// (net.core.somaxconn), the default backlog.
func SoMaxConn() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			return min(n, MaxBacklog)
		}
	}
	return unix.SOMAXCONN
}

func inode(path string) (uint64, bool) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return 0, false
	}
	return st.Ino, true
}

// translate says EADDRINUSE as ErrInUse.
func translate(err error) error {
	if errors.Is(err, unix.EADDRINUSE) {
		return ErrInUse
	}
	return err
}
