package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// notifyReloader follows a reload on the notification socket the manager
// keeps for a notify check (systemd's notify-reload protocol). While the
// program is up no check process reads the socket, so the manager is its
// only reader.
type notifyReloader struct{ conn *net.UnixConn }

// Begin drops what the program reported before the reload signal.
func (r *notifyReloader) Begin() { drainStale([]drainable{r.conn}) }

// Wait reads the program's reports until RELOADING=1 and then READY=1.
func (r *notifyReloader) Wait(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { _ = r.conn.SetReadDeadline(time.Now()) })
	defer stop()
	defer func() { _ = r.conn.SetReadDeadline(time.Time{}) }()
	buf := make([]byte, 4096)
	reloading := false
	for {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		n, _, err := r.conn.ReadFromUnix(buf)
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue // a drain before a spawn, not our deadline
			}
			return fmt.Errorf("read the notification socket: %w", err)
		}
		if reloadDone(string(buf[:n]), &reloading) {
			return nil
		}
	}
}

// reloadDone reads one report: RELOADING=1 starts the reload, and a
// READY=1 after it (in the same report or a later one) ends it.
func reloadDone(report string, reloading *bool) bool {
	for _, line := range strings.Split(report, "\n") {
		switch strings.TrimSpace(line) {
		case "RELOADING=1":
			*reloading = true
		case "READY=1":
			if *reloading {
				return true
			}
		}
	}
	return false
}
