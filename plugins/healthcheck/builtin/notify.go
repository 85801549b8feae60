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

// Notify is up when the program says so: it sends a datagram containing
// the line "READY=1" to the socket named by $NOTIFY_SOCKET (sd_notify's
// protocol). zdaemon sets NOTIFY_SOCKET in the program's environment and
// gives the same path to this check as "socket".
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
	}}, nil
}

// Validate checks the configuration.
func (n *Notify) Validate(context.Context, healthcheck.Config) []healthcheck.FieldError { return nil }

// Configure binds the notification socket and starts listening.
func (n *Notify) Configure(_ context.Context, cfg healthcheck.Config) error {
	path := cfg.String("socket", "")
	if path == "" {
		return errors.New("socket: no notification socket given")
	}
	_ = os.Remove(path)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("listen on the notification socket: %w", err)
	}
	n.mu.Lock()
	n.conn = conn
	n.changed = make(chan struct{})
	n.mu.Unlock()
	go n.listen()
	return nil
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
				n.mu.Lock()
				n.readyAt = time.Now()
				close(n.changed)
				n.changed = make(chan struct{})
				n.mu.Unlock()
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
