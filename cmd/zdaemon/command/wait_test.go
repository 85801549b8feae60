package command

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/control"
	"github.com/zdaemon/zdaemon/core/controlproto"
)

// oldManager is a fake of the original's manager: it knows none of our
// added commands, and its program's pid follows a script, one entry per
// status poll (the last one stays).
type oldManager struct {
	mu      sync.Mutex
	pids    []int
	unknown atomic.Int32 // "Unknown command" replies sent
	stop    func()       // closes the socket: the manager is gone
}

func (f *oldManager) Serve(_ context.Context, req control.Request) string {
	if req.Name != "status" {
		f.unknown.Add(1)
		return controlproto.ReplyUnknown(req.Name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	pid := f.pids[0]
	if len(f.pids) > 1 {
		f.pids = f.pids[1:]
	}
	if pid < 0 { // the manager exits
		f.stop()
		return ""
	}
	return controlproto.Status{Running: pid != 0, ShouldBeUp: true, Application: pid, Manager: 1}.Format()
}

// A wait against the original's manager polls status with its dots, and
// asks with "await" only once per invocation.
func TestAwaitFallsBackToPolling(t *testing.T) {
	// Polls come every 5 ms; the dots of the event-driven wait before
	// the fallback stay at a second, so that however slowly the fake
	// manager answers "Unknown command" on a loaded machine, only the
	// polls print dots.
	defer func(d time.Duration) { pollInterval = d }(pollInterval)
	pollInterval = 5 * time.Millisecond
	tests := []struct {
		name    string
		pids    []int
		up      bool // await up 7, else await down
		want    waitResult
		wantPid int
		dots    int           // -1: any number
		limit   time.Duration // 0: 10 s
	}{
		{"down at once", []int{0}, false, waitDone, 0, 0, 0},
		{"down after two polls", []int{7, 7, 0}, false, waitDone, 0, 2, 0},
		{"down: manager exits", []int{7, -1}, false, waitDone, 0, 1, 0},
		{"up: a new pid", []int{7, 0, 8}, true, waitDone, 8, 2, 0},
		{"up: manager exits", []int{7, 0, -1}, true, waitGone, 0, 2, 0},
		{"up: start-timeout", []int{0}, true, waitTimeout, 0, -1, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "zd")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			sock := filepath.Join(dir, "sock")
			srv, err := control.Listen(sock, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			fake := &oldManager{pids: tt.pids, stop: func() { srv.Close() }}
			done := make(chan struct{})
			go func() { defer close(done); _ = srv.Serve(ctx, fake) }()
			defer func() { cancel(); <-done }()

			var out bytes.Buffer
			m := &Meta{Out: &out, Err: &out, Cfg: config.Default(), Socket: sock}
			wait := func() (controlproto.Status, waitResult) {
				limit := tt.limit
				if limit == 0 {
					limit = 10 * time.Second
				}
				deadline := time.Now().Add(limit)
				if tt.up {
					return m.await(nil, "await up 7", func(st controlproto.Status) bool { return st.Application != 0 && st.Application != 7 }, deadline)
				}
				res, st := m.awaitDown(deadline)
				return st, res
			}
			st, res := wait()
			if res != tt.want || st.Application != tt.wantPid {
				t.Errorf("result %v with pid %d, want %v with pid %d", res, st.Application, tt.want, tt.wantPid)
			}
			if got := strings.Count(out.String(), ". "); tt.dots >= 0 && got != tt.dots {
				t.Errorf("output %q, want %d dots", out.String(), tt.dots)
			}
			// A second wait polls at once: no second "await".
			wait()
			if n := fake.unknown.Load(); n != 1 {
				t.Errorf("the manager was asked %d unknown commands, want 1", n)
			}
			if !m.oldManager {
				t.Error("the fallback is not remembered")
			}
		})
	}
}
