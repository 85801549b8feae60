package supervisor

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/manager"
)

// notifySocket is the notification socket ($NOTIFY_SOCKET) the manager
// binds for the program: it reads every datagram itself, with its
// sender's credentials (SO_PASSCRED), and hands it to the manager loop,
// which keeps what the program says (WATCHDOG=1, STATUS=) and passes
// READY=1 on to the notify checks through a socket pair of each.
type notifySocket struct {
	path    string
	ino     pathID // the socket file at path when bound or adopted
	unlinks sync.Once
	conn    *net.UnixConn
	file    *os.File // a duplicate of conn's descriptor, which an upgrade hands over
	notices chan manager.Notice
	done    chan struct{}
	wg      sync.WaitGroup
	log     *slog.Logger

	mu     sync.Mutex
	relays []*os.File // the manager's ends of the checks' socket pairs
	ends   []*os.File // the checks' ends, kept to drain stale reports
}

// bindNotify binds the notification socket at path. A leftover socket of
// an earlier manager is removed; anything else at the path is left alone,
// and the bind then fails naming it.
func bindNotify(path string, log *slog.Logger) (*notifySocket, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		_ = os.Remove(path)
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notification socket: %w", err)
	}
	if err := setPassCred(conn); err != nil {
		conn.Close()
		os.Remove(path)
		return nil, fmt.Errorf("notification socket %s: %w", path, err)
	}
	return newNotifySocket(conn, path, log)
}

// adoptNotify takes over the notification socket a previous manager
// handed over as f (bound at path).
func adoptNotify(f *os.File, path string, log *slog.Logger) (*notifySocket, error) {
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("adopt the notification socket: %w", err)
	}
	conn, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("adopt the notification socket: a %T", c)
	}
	if err := setPassCred(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("notification socket %s: %w", path, err)
	}
	return newNotifySocket(conn, path, log)
}

func newNotifySocket(conn *net.UnixConn, path string, log *slog.Logger) (*notifySocket, error) {
	f, err := conn.File()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("notification socket %s: %w", path, err)
	}
	ns := &notifySocket{path: path, ino: pathIDOf(path), conn: conn, file: f, notices: make(chan manager.Notice), done: make(chan struct{}), log: log}
	ns.wg.Go(ns.read)
	return ns, nil
}

func setPassCred(conn *net.UnixConn) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("set SO_PASSCRED: %w", serr)
	}
	return nil
}

// maxNotice is the largest datagram read whole (systemd's
// NOTIFY_BUFFER_MAX); longer ones are cut.
const maxNotice = 4096

// read hands each datagram, with its sender's pid, to the manager loop
// until the socket is closed. Descriptors a sender passes along are
// closed: the manager keeps none.
func (ns *notifySocket) read() {
	buf := make([]byte, maxNotice)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred)+unix.CmsgSpace(16*4))
	for {
		n, oobn, _, _, err := ns.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			ns.log.Warn(fmt.Sprintf("notification socket: %v", err))
			continue
		}
		pid := senderPid(oob[:oobn])
		select {
		case ns.notices <- manager.Notice{Pid: pid, Text: string(buf[:n])}:
		case <-ns.done:
			return
		}
	}
}

// senderPid finds the sender's pid in a datagram's control messages (0
// without credentials) and closes any descriptor that came with it.
func senderPid(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	pid := 0
	for i := range msgs {
		if cred, err := unix.ParseUnixCredentials(&msgs[i]); err == nil {
			pid = int(cred.Pid)
			continue
		}
		if fds, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
	}
	return pid
}

// checkEnd makes the socket pair of one notify check: the check reads
// its end as its descriptor 3 (as it would the socket itself).
func (ns *notifySocket) checkEnd() (*os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("notification socket pair: %w", err)
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, fmt.Errorf("notification socket pair: %w", err)
	}
	relay := os.NewFile(uintptr(fds[0]), "notify-relay")
	end := os.NewFile(uintptr(fds[1]), "notify-check")
	ns.mu.Lock()
	ns.relays = append(ns.relays, relay)
	ns.ends = append(ns.ends, end)
	ns.mu.Unlock()
	return end, nil
}

// relay passes a notification to every notify check. A check's pair that
// is full (its plugin does not run) drops it: it would be stale anyway.
func (ns *notifySocket) relay(text string) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for _, f := range ns.relays {
		if _, err := unix.Write(int(f.Fd()), []byte(text)); err != nil && !errors.Is(err, syscall.EAGAIN) {
			ns.log.Warn(fmt.Sprintf("pass a notification on to the notify check: %v", err))
		}
	}
}

// drain discards what earlier runs left in the checks' pairs.
func (ns *notifySocket) drain() {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	buf := make([]byte, maxNotice)
	for _, f := range ns.ends {
		for {
			if _, _, err := unix.Recvfrom(int(f.Fd()), buf, unix.MSG_DONTWAIT); err != nil {
				break
			}
		}
	}
}

// unlink removes the socket's path while it is still this socket's: a
// manager that starts as this one exits binds its own there. The manager
// calls it before it lets go of the control socket (and close does).
func (ns *notifySocket) unlink() {
	ns.unlinks.Do(func() {
		if id := pathIDOf(ns.path); id != (pathID{}) && id == ns.ino {
			_ = os.Remove(ns.path)
		}
	})
}

// pathID tells one file at a path from another.
type pathID struct{ dev, ino uint64 }

// pathIDOf is the file's at path (not followed), or the zero pathID.
func pathIDOf(path string) pathID {
	var st unix.Stat_t
	if unix.Lstat(path, &st) != nil {
		return pathID{}
	}
	return pathID{uint64(st.Dev), st.Ino}
}

// close stops reading and removes the socket.
func (ns *notifySocket) close() {
	close(ns.done)
	ns.conn.Close()
	ns.file.Close()
	ns.wg.Wait()
	ns.unlink()
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for _, f := range append(ns.relays, ns.ends...) {
		f.Close()
	}
	ns.relays, ns.ends = nil, nil
}

// runEnv is what a run of the program gets in its environment for the
// notification socket and the watchdog, and which variables must name
// its own pid (set after fork: see child.Spec.PidEnv). Everything a run
// adds to the environment for these goes through here.
func runEnv(cfg *config.Config, notifyPath string) (env, pidEnv []string) {
	if notifyPath != "" {
		env = append(env, "NOTIFY_SOCKET="+notifyPath)
	}
	if cfg.Watchdog > 0 {
		env = append(env, "WATCHDOG_USEC="+strconv.FormatInt(cfg.Watchdog.Microseconds(), 10))
		pidEnv = append(pidEnv, "WATCHDOG_PID")
	}
	return env, pidEnv
}

// inheritedEnv are variables of the manager's own environment that a
// program must not inherit: the original's, and what a service manager
// above zdaemon set for the manager itself.
var inheritedEnv = []string{"DAEMON_MANAGER_MODE=", "NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID="}
