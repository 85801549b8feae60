package control

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// WatchPath calls changed once when its watch begins (what changed before
// is seen), then for each change of the entry; it returns when ctx ends.
func TestWatchPath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sock")
	calls := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- WatchPath(ctx, path, func() { calls <- struct{}{} }) }()
	next := func(what string) {
		t.Helper()
		select {
		case <-calls:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: changed not called within 10s", what)
		}
	}
	next("the watch began")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	next("the entry created")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	next("the entry removed")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("WatchPath: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WatchPath did not return within 10s of ctx's end")
	}
}
