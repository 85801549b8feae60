package builtin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/zdaemon/zdaemon/plugins/healthcheck"
)

// Notify is up when the program says so, in one of two ways:
//
//   - sd_notify: a datagram containing the line "READY=1" to the socket
//     named by $NOTIFY_SOCKET; zdaemon binds that socket itself (so that it
//     exists before the program starts, and queues what arrives while no
//     check runs), sets NOTIFY_SOCKET for the program, and hands the socket
//     to this check as its descriptor 3 ("inherited"); standalone, the check
//     binds "socket" itself;
//   - s6's notification-fd: with fd = N, the program writes a line to its
//     file descriptor N; zdaemon hands the other end of that pipe to this
//     check as its descriptor 3.
type Notify struct {
	mu      sync.Mutex
	conn    *net.UnixConn
	readyAt time.Time
	changed chan struct{} // closed and replaced at each READY
}

// Schema of healthcheck "notify" {} (socket is filled in by zdaemon).
func (n *Notify) Schema(context.Context) (healthcheck.Schema, error) {
	return healthcheck.Schema{Attributes: []healthcheck.Attribute{
		{Name: "socket", Type: healthcheck.TypeString, Description: "the notification socket (set by zdaemon)"},
		{Name: "fd", Type: healthcheck.TypeNumber, Description: "s6 style: the program writes a line to this descriptor (3 or more)"},
	}}, nil
}

// NotifyInputFD is where a notify check in fd mode finds the read end of
// the program's notification pipe.
const NotifyInputFD = 3

// Validate checks the configuration.
func (n *Notify) Validate(_ context.Context, cfg healthcheck.Config) []healthcheck.FieldError {
	return wholeNumber(cfg, "fd", 3, 1000)
}

// Configure binds the notification socket (or takes the notification
// pipe) and starts listening.
func (n *Notify) Configure(ctx context.Context, cfg healthcheck.Config) error {
	if err := validated(n.Validate(ctx, cfg)); err != nil {
		return err
	}
	n.mu.Lock()
	n.changed = make(chan struct{})
	n.mu.Unlock()
	if _, ok := cfg["fd"]; ok {
		f := os.NewFile(NotifyInputFD, "notification-fd")
		if f == nil {
			return errors.New("fd: no notification pipe on descriptor 3")
		}
		go n.readLines(f)
		return nil
	}
	if cfg.Bool("inherited", false) {
		f := os.NewFile(NotifyInputFD, "notification-socket")
		if f == nil {
			return errors.New("no notification socket on descriptor 3")
		}
		fc, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("notification socket: %w", err)
		}
		conn, ok := fc.(*net.UnixConn)
		if !ok {
			fc.Close()
			return errors.New("descriptor 3 is not a unix socket")
		}
		n.mu.Lock()
		n.conn = conn
		n.mu.Unlock()
		go n.listen()
		return nil
	}
	path := cfg.String("socket", "")
	if path == "" {
		return errors.New("socket: no notification socket given")
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		_ = os.Remove(path) // a leftover socket; never anything else
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("listen on the notification socket: %w", err)
	}
	n.mu.Lock()
	n.conn = conn
	n.mu.Unlock()
	go n.listen()
	return nil
}

// readLines marks readiness at every line on the notification pipe.
func (n *Notify) readLines(f *os.File) {
	buf := make([]byte, 4096)
	for {
		k, err := f.Read(buf)
		if k > 0 && strings.Contains(string(buf[:k]), "\n") {
			n.ready()
		}
		if err != nil {
			return
		}
	}
}

func (n *Notify) ready() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.readyAt = time.Now()
	close(n.changed)
	n.changed = make(chan struct{})
}

func (n *Notify) listen() {
	buf := make([]byte, 4096)
	for {
		k, _, err := n.conn.ReadFromUnix(buf)
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(buf[:k]), "\n") {
			if strings.TrimSpace(line) == "READY=1" {
				n.ready()
			}
		}
	}
}

// Check waits, until the try's deadline, for READY=1 sent after the
// program started: the start returns the moment the program reports.
func (n *Notify) Check(ctx context.Context, req healthcheck.Request) (healthcheck.Result, error) {
	for {
		n.mu.Lock()
		ready, changed := n.readyAt, n.changed
		n.mu.Unlock()
		if !ready.IsZero() && !ready.Before(req.Started) {
			return healthcheck.Result{Healthy: true, Message: "the program reported READY=1"}, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return healthcheck.Result{Message: "no READY=1 from the program yet"}, nil
		}
	}
}
