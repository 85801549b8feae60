package supervisor

import (
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
	recreated := func(what string) {
		t.Helper()
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; {
			if _, err := os.Stat(path); err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the deleted socket was not recreated within 10s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFDs := func(what string, want int) {
		t.Helper()
		// watch starts its goroutine, which opens the descriptor.
		for deadline := time.Now().Add(10 * time.Second); inotifyFDs(t) != want; {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d inotify descriptors, want %d", what, inotifyFDs(t), want)
			}
			time.Sleep(time.Millisecond)
		}
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
