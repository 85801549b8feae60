package supervisor

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zdaemon/zdaemon/core/control"
)

// inotifyFDs counts this process's inotify descriptors.
func inotifyFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.Contains(target, "inotify") {
			n++
		}
	}
	return n
}

// The watch of the socket's path recreates a deleted socket; an upgrade's
// pause closes its inotify descriptor before it returns (not the execve,
// where closing it holds the new manager for a kernel grace period), and
// resuming after a failed upgrade watches again.
func TestSocketWatchPausesForUpgrade(t *testing.T) {
	path := shortSocket(t)
	srv, err := control.Listen(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := &socketKeeper{path: path, servers: []*control.Server{srv}, log: slog.New(slog.DiscardHandler), serve: func(*control.Server) {}}
	defer k.closeAll()
	before := inotifyFDs(t)
	k.watch()
	defer k.unwatch()
	within := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10s", what)
			}
		}
	}
	recreated := func(what string) {
		t.Helper()
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		within(what+": the deleted socket recreated", func() bool {
			_, err := os.Stat(path)
			return err == nil
		})
	}
	// watch starts its goroutine, which opens the descriptor.
	waitFDs := func(what string, want int) {
		t.Helper()
		within(fmt.Sprintf("%s: %d inotify descriptors", what, want), func() bool { return inotifyFDs(t) == want })
	}
	waitFDs("watching", before+1)
	recreated("watching")

	resume := k.pause()
	if n := inotifyFDs(t); n != before { // at once: pause waited for the close
		t.Fatalf("paused: %d inotify descriptors, want %d", n, before)
	}
	resume()
	waitFDs("resumed", before+1)
	recreated("resumed")
}
