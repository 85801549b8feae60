//go:build linux

package daemon

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestConnectionBudget(t *testing.T) {
	var saved unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &saved); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &saved) })
	open, err := openDescriptors()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name          string
		limit         uint64
		reserve, most int
		want          int
	}{
		{"plenty", uint64(open) + 10000, 32, 256, 256},
		{"scarce", uint64(open) + 48, 32, 256, 16},
		{"exhausted", uint64(open) + 10, 32, 256, minConnections},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lim := unix.Rlimit{Cur: tt.limit, Max: saved.Max}
			if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
				t.Skipf("cannot set the limit: %v", err)
			}
			got, err := ConnectionBudget(tt.reserve, tt.most)
			if err != nil || got != tt.want {
				t.Fatalf("ConnectionBudget(%d, %d) under %d with %d open = %d, %v; want %d", tt.reserve, tt.most, tt.limit, open, got, err, tt.want)
			}
		})
	}
}
