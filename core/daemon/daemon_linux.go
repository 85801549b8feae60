//go:build linux

package daemon

import (
	"fmt"
	"math"

	"golang.org/x/sys/unix"
)

// BecomeSubreaper makes orphaned descendants of the program reparent to
// this process, so that the manager reaps them and a stop can find them.
func BecomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_CHILD_SUBREAPER: %w", err)
	}
	return nil
}

// CloseInherited marks every descriptor from 3 up close-on-exec, so that
// nothing the manager inherited leaks into the program.
func CloseInherited() error {
	if err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close_range: %w", err)
	}
	return nil
}
