//go:build unix

package control

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// MaxSocketPath is the longest socket path the kernel accepts (sun_path
// holds 108 bytes with the terminating NUL).
const MaxSocketPath = 107

// Defaults of a Server.
const (
	DefaultReadTimeout = 10 * time.Second
	DefaultMaxConns    = 256
)

// ReplyPermissionDenied answers a peer of another user.
const ReplyPermissionDenied = "Permission denied"

// InUseError says another manager answers on the socket.
type InUseError struct {
	Path  string
	Reply string // its status reply
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("Another zrdun is already up using socket %s:\n%s", pyrepr.Str(e.Path), strings.TrimRight(e.Reply, "\n"))
}

// Server serves the control protocol on a unix socket.
type Server struct {
	// Logger receives warnings (refused peers, accept errors); nil discards.
	Logger *slog.Logger
	// ReadTimeout bounds how long a client may take to send its line.
	ReadTimeout time.Duration
	// MaxConns bounds the connections held at once. The server never
	// stops accepting (a full queue would make a live manager look dead);
	// a connection that would exceed the bound makes room by closing the
	// oldest connection that has not sent its command yet, and is itself
	// closed unsent when every held connection has sent one (all of them
	// wait in "await"). See Serve.
	MaxConns int

	// lfd is the listening socket: a bare non-blocking descriptor, kept
	// out of Go's poller (which would wake a thread of its own for every
	// connection, only to find that nobody waits on it).
	lfd  int
	path string

	// Connections held, guarded by mu: how many, and those that have not
	// sent their line yet, oldest first.
	held   int
	silent list.List // of *conn
	freed  chan struct{}

	// writers finish replies the accept loop began (see finishReply).
	writers sync.WaitGroup

	mu       sync.Mutex
	acceptFd int // the listener's descriptor the accept loop waits on, -1 if none
	// handedOver counts the connections served by goroutines of their
	// own (for tests and benchmarks of the accept loop's quick path).
	handedOver atomic.Int64
	// foundAwake counts the connections the accept loop found while it
	// looked for one after an answer (see spinAccept), for the same.
	foundAwake atomic.Int64
	// stopLooking ends that look at once (Pause, Close).
	stopLooking atomic.Bool
	// requests counts the requests read, answered on either path.
	requests   atomic.Uint64
	closed     bool
	paused     bool               // see Pause
	wakeFd     int                // the accept loop's eventfd, which Pause writes; -1 if none
	handed     []handedConn       // see AdoptConn
	active     map[*conn]struct{} // served, not waiting in await: see Quiesce
	quiet      chan struct{}      // closed when active changes; nil if nobody waits
	acceptDone chan struct{}      // closed when the accept loop has stopped
	ino        uint64             // the socket inode we created, 0 if unknown
	dev        uint64
	stopped    chan struct{}
}

// Listen creates the control socket at path (absolute), safely: bind under
// "<path>.<pid>" with mode 0700, link(2) it to path (atomic: never two
// managers), unlink the temporary name, listen. When path exists, a socket
// that refuses connections is stale and is replaced (onStale is told
// first); one that answers yields *InUseError; anything else (a regular
// file, a directory, a socket we may not connect to) is an error and is
// left alone.
func Listen(path string, onStale func(path string)) (*Server, error) {
	if len(path) > MaxSocketPath {
		return nil, fmt.Errorf("socket path too long (%d bytes, limit %d): %s", len(path), MaxSocketPath, path)
	}
	tmp := fmt.Sprintf("%s.%d", path, os.Getpid())
	if len(tmp) > MaxSocketPath {
		return nil, fmt.Errorf("socket path too long (%d bytes with the temporary suffix, limit %d): %s", len(tmp), MaxSocketPath, path)
	}
	_ = os.Remove(tmp)
	// bind creates the socket with mode 0777 &^ umask: with umask 077 it
	// is 0700 from the start. A chmod by name afterwards would follow a
	// symbolic link someone who can write to the directory put in its
	// place, and change the mode of another file.
	lfd, err := bindPrivate(tmp)
	if err != nil {
		return nil, fmt.Errorf("bind control socket %s: %w", tmp, err)
	}
	defer os.Remove(tmp)
	const attempts = 5
	for try := 0; ; try++ {
		err := os.Link(tmp, path)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || try == attempts {
			unix.Close(lfd)
			return nil, fmt.Errorf("link control socket into place at %s: %w", path, err)
		}
		if perr := probeExisting(path); perr != nil {
			unix.Close(lfd)
			return nil, perr
		}
		if onStale != nil {
			onStale(path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			unix.Close(lfd)
			return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
		}
	}
	s := newServer(lfd, path)
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err == nil {
		s.ino, s.dev = st.Ino, uint64(st.Dev)
	}
	return s, nil
}

// umaskMu serializes the umask changes of bindPrivate (the umask is the
// process's).
var umaskMu sync.Mutex

// bindPrivate binds a unix socket at path with mode 0700 and listens on
// it; the descriptor is non-blocking and close-on-exec.
func bindPrivate(path string) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	umaskMu.Lock()
	old := unix.Umask(0o077)
	err = unix.Bind(fd, &unix.SockaddrUnix{Name: path})
	unix.Umask(old)
	umaskMu.Unlock()
	if err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("bind", err)
	}
	// The kernel caps the backlog at net.core.somaxconn, as Go's own
	// listeners ask for.
	if err := unix.Listen(fd, 1<<16-1); err != nil {
		unix.Close(fd)
		_ = os.Remove(path)
		return -1, os.NewSyscallError("listen", err)
	}
	return fd, nil
}

// newServer is a Server of the listening descriptor lfd at path.
func newServer(lfd int, path string) *Server {
	return &Server{lfd: lfd, path: path, acceptFd: -1, wakeFd: -1, stopped: make(chan struct{}), freed: make(chan struct{}, 1)}
}

// probeExisting returns nil when the socket at path is stale and may be
// removed, or the reason it may not.
func probeExisting(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // gone meanwhile: retry the link
		}
		return fmt.Errorf("inspect %s: %w", path, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket; it was left alone", path)
	}
	// A unix-socket connect does not wait (a full listen queue is EAGAIN
	// at once), so the plain dial needs no timeout; DialTimeout's never
	// applied, and its general dialer was manager code for nothing.
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil
		}
		return fmt.Errorf("socket %s exists and cannot be probed (left alone): %w", path, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	_, _ = io.WriteString(c, "status\n")
	_ = c.CloseWrite()
	reply, _ := io.ReadAll(io.LimitReader(c, 64*1024))
	return &InUseError{Path: path, Reply: string(reply)}
}

// conn is one held connection.
type conn struct {
	c       *net.UnixConn
	silent  *list.Element // in Server.silent until its line arrived
	evicted bool          // closed to make room; guarded by Server.mu
	parked  bool          // its request is an await; guarded by Server.mu
	prefix  []byte        // what the accept loop read already
}

// Serve accepts connections until ctx ends or Close is called, serving each
// in its own goroutine, and returns once all of them have finished.
// Handlers see ctx, so blocked ones end when it does; a handler's context
// also ends when its client hangs up (closes the connection for good, not
// just its writing half), so a waiting command forgets a client that left.
//
// Connection policy: at most MaxConns connections are held. Accepting
// never stops: when one more would exceed the bound, the oldest connection
// that has not sent its command is closed to make room (a client that
// connects and says nothing cannot lock out the owner's status and stop);
// when every held connection has sent its command (they all wait in
// "await"), the new one is closed without being read, and its client
// sees the connection reset. When accept itself runs out of descriptors,
// the server closes the oldest silent connection and retries, or waits
// until a connection ends (at most a second) before trying again.
func (s *Server) Serve(ctx context.Context, h Handler) error {
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	maxConns := s.maxConns()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer s.writers.Wait()
	accepting, err := s.startAccepting()
	if err != nil {
		return nil
	}
	defer accepting() // first: Pause waits for the loop, not for the connections
	hup, err := newHangupWatcher()
	if err != nil {
		logger.Warn(fmt.Sprintf("%v; clients that go away while they wait are noticed only when the wait ends", err))
	} else {
		defer hup.close()
		wg.Go(hup.run)
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Close() })
	defer stop()
	for _, hc := range s.takeHanded() {
		cn, _, ok := s.track(hc.c, maxConns)
		if !ok {
			_ = hc.c.Close()
			continue
		}
		cn.prefix = []byte(hc.line + "\n")
		wg.Go(func() {
			defer s.untrack(cn)
			s.serveConn(ctx, cn, h, hup, logger)
		})
	}
	a := &acceptor{s: s, ctx: ctx, h: h, hup: hup, logger: logger, maxConns: maxConns, wg: &wg}
	err = s.acceptLoop(a)
	if s.isClosed() || s.isPaused() || ctx.Err() != nil {
		return nil
	}
	return err
}

// acceptor is what the accept loop needs to hand connections over to
// goroutines of their own and to weather accept errors.
type acceptor struct {
	s        *Server
	ctx      context.Context
	h        Handler
	hup      *hangupWatcher
	logger   *slog.Logger
	maxConns int
	wg       *sync.WaitGroup

	exhausted, refusing bool // for saying so once, not on every accept
}

// failed handles an accept error: it returns nil when accepting may go
// on (descriptors ran out: it made room or waited for a connection to
// end), the error otherwise.
func (a *acceptor) failed(err error) error {
	s := a.s
	if s.isClosed() || a.ctx.Err() != nil {
		return err
	}
	if !errors.Is(err, syscall.EMFILE) && !errors.Is(err, syscall.ENFILE) {
		return fmt.Errorf("accept on control socket: %w", err)
	}
	select { // forget ends seen before this shortage
	case <-s.freed:
	default:
	}
	if !s.evictSilent() && !a.exhausted {
		a.exhausted = true
		a.logger.Error(fmt.Sprintf("accept on control socket: %v; waiting for a connection to end", err))
	}
	select { // not polling: the end of a connection wakes us
	case <-s.freed:
	case <-time.After(time.Second): // descriptors held elsewhere
	case <-s.stopped:
	}
	return nil
}

// accepted says that accept works (again).
func (a *acceptor) accepted() {
	if a.exhausted {
		a.exhausted = false
		a.logger.Info("control socket accepts connections again")
	}
}

// handOver serves an accepted descriptor in a goroutine of its own;
// prefix is what the accept loop read of its request already. It returns
// an error only when the descriptor could not be adopted.
func (a *acceptor) handOver(fd int, prefix []byte) error {
	s := a.s
	s.handedOver.Add(1)
	c, err := adopt(fd)
	if err != nil {
		return a.failed(err)
	}
	cn, evicted, ok := s.track(c, a.maxConns)
	if !ok {
		if !a.refusing {
			a.refusing = true
			a.logger.Warn(fmt.Sprintf("control socket: %d clients are waiting for answers; refusing new connections until one ends", a.maxConns))
		}
		_ = c.Close()
		return nil
	}
	a.refusing = false
	cn.prefix = append([]byte(nil), prefix...)
	a.wg.Go(func() {
		defer s.untrack(cn)
		s.serveConn(a.ctx, cn, a.h, a.hup, a.logger)
	})
	if evicted {
		// The evicted connection's descriptor is released when its
		// goroutine lets go of it: wait for that, so that a burst of
		// silent connections never holds more than the bound.
		select {
		case <-s.freed:
		case <-s.stopped:
		}
	}
	return nil
}

// track counts a new connection in, closing the oldest silent one when
// the bound is reached (evicted). It reports false when nothing could be
// closed.
func (s *Server) track(c *net.UnixConn, maxConns int) (cn *conn, evicted, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held >= maxConns {
		select { // forget ends seen before this eviction
		case <-s.freed:
		default:
		}
		if !s.evictSilentLocked() {
			return nil, false, false
		}
		evicted = true
	}
	s.held++
	cn = &conn{c: c}
	cn.silent = s.silent.PushBack(cn)
	s.activeChanged(cn, true)
	return cn, evicted, true
}

// hold counts a connection the accept loop keeps (delta 1) or let go of
// (-1) in the bound; it reports false, counting nothing, when the bound
// is reached.
func (s *Server) hold(delta int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if delta > 0 && s.held >= s.maxConns() {
		return false
	}
	s.held += delta
	return true
}

func (s *Server) maxConns() int {
	if s.MaxConns <= 0 {
		return DefaultMaxConns
	}
	return s.MaxConns
}

// spoke marks a connection whose line has arrived: it is not evicted.
func (s *Server) spoke(cn *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cn.silent != nil {
		s.silent.Remove(cn.silent)
		cn.silent = nil
	}
}

// untrack counts a finished connection out and wakes an accept that waits
// for a free descriptor.
func (s *Server) untrack(cn *conn) {
	s.mu.Lock()
	if cn.silent != nil {
		s.silent.Remove(cn.silent)
		cn.silent = nil
	}
	s.held--
	s.activeChanged(cn, false)
	s.mu.Unlock()
	select {
	case s.freed <- struct{}{}:
	default:
	}
}

func (s *Server) evictSilent() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evictSilentLocked()
}

// evictSilentLocked closes the oldest connection that has not sent its
// line; its goroutine then finishes and counts it out.
func (s *Server) evictSilentLocked() bool {
	e := s.silent.Front()
	if e == nil {
		return false
	}
	cn := s.silent.Remove(e).(*conn)
	cn.silent = nil
	cn.evicted = true
	_ = cn.c.Close()
	return true
}

// wasEvicted reports a connection closed to make room: nothing more is
// said to it, or about it.
func (s *Server) wasEvicted(cn *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cn.evicted
}

func (s *Server) serveConn(ctx context.Context, cn *conn, h Handler, hup *hangupWatcher, logger *slog.Logger) {
	c := cn.c
	defer c.Close()
	if uid, ok := peerUID(c); !ok || (uid != 0 && uid != os.Geteuid()) {
		if s.wasEvicted(cn) {
			return
		}
		logger.Warn(fmt.Sprintf("refused control connection from uid %d", uid))
		// Read the command first: closing with unread data would reset
		// the connection and lose the reply.
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if !bytes.ContainsRune(cn.prefix, '\n') {
			_, _ = ReadRequest(c)
		}
		_, _ = io.WriteString(c, ReplyPermissionDenied+"\n")
		return
	}
	timeout := s.readTimeout()
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	var in io.Reader = c
	if len(cn.prefix) > 0 {
		in = io.MultiReader(bytes.NewReader(cn.prefix), c)
	}
	req, errReply := ReadRequest(in)
	_ = c.SetReadDeadline(time.Time{})
	s.spoke(cn)
	if errReply == "" && req.Name == "await" {
		s.park(cn)
	}
	if s.wasEvicted(cn) {
		return
	}
	reply := errReply
	if errReply == "" {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		if hup != nil {
			if unwatch, err := hup.watch(c, cancel); err == nil {
				defer unwatch() // before c.Close
			}
		}
		s.requests.Add(1)
		reply = serveSafely(context.WithValue(ctx, connKey{}, c), h, req, logger)
	}
	if reply == "" {
		return
	}
	if !strings.HasSuffix(reply, "\n") {
		reply += "\n"
	}
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, reply); err != nil {
		logger.Warn(fmt.Sprintf("Error sending reply: %v", err))
	}
}

func (s *Server) readTimeout() time.Duration {
	if s.ReadTimeout <= 0 {
		return DefaultReadTimeout
	}
	return s.ReadTimeout
}

// peerUID returns the uid of the connected process.
func peerUID(c *net.UnixConn) (int, bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, false
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return -1, false
	}
	return int(cred.Uid), true
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops accepting connections (those being served go on) and
// unlinks the socket path, but only while it is still the socket this
// server created: a manager never removes another manager's socket. It is
// idempotent and never blocks.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.stopLooking.Store(true)
	close(s.stopped)
	if s.acceptFd >= 0 {
		wakeAccept(s.acceptFd)
	}
	var st unix.Stat_t
	if s.ino != 0 && unix.Stat(s.path, &st) == nil && st.Ino == s.ino && uint64(st.Dev) == s.dev {
		_ = os.Remove(s.path)
	}
	return unix.Close(s.lfd)
}

// serveSafely runs the handler; a panic in it (a bug) is logged with its
// stack and costs this connection its reply, not the manager its life.
// Requests is how many requests this server has read.
func (s *Server) Requests() uint64 { return s.requests.Load() }

func serveSafely(ctx context.Context, h Handler, req Request, logger *slog.Logger) (reply string) {
	defer func() {
		if r := recover(); r != nil {
			logger.Error(fmt.Sprintf("control command %q panicked: %v\n%s", req.Name, r, debug.Stack()))
			reply = ""
		}
	}()
	return h.Serve(ctx, req)
}
