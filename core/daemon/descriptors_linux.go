//go:build linux

package daemon

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// DescriptorReserve is how many descriptors the manager keeps free of
// control connections: enough to spawn the program (/dev/null and the
// exec-status pipe), restart a plugin (its pipes, its gRPC connection, a
// pidfd), reopen the event log and transcript, sweep /proc after a stop
// and recreate a deleted control socket, with room to spare.
const DescriptorReserve = 32

// minConnections is the least the control socket gets however few
// descriptors there are: with eviction of silent connections, a handful
// keep status and stop working.
const minConnections = 4

// ConnectionBudget returns how many control connections the manager may
// hold at once so that reserve descriptors stay free for everything else:
// the descriptor limit, less the descriptors open now, less reserve,
// capped at most. Call it once everything long-lived is open (event log,
// plugins, sockets).
//
// The limit is the soft RLIMIT_NOFILE, which the Go runtime raised to the
// hard limit at start-up: "ulimit -n 64" sets both and leaves 64, while
// "ulimit -Sn 64" alone is undone here (the program still gets the soft
// limit it was given, which Go restores in children).
func ConnectionBudget(reserve, most int) (int, error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return most, fmt.Errorf("read the descriptor limit: %w", err)
	}
	open, err := openDescriptors()
	if err != nil {
		return most, err
	}
	if lim.Cur > uint64(1<<31) {
		return most, nil // unlimited, or as good as
	}
	n := int(lim.Cur) - open - reserve
	return min(max(n, minConnections), most), nil
}

// openDescriptors counts this process's open descriptors.
func openDescriptors() (int, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, fmt.Errorf("count open descriptors: %w", err)
	}
	return len(entries) - 1, nil // less the one reading the directory
}
