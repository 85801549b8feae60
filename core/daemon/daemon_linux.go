//go:build linux

package daemon

import (
	"fmt"
	"math"
	"os"
	"strings"

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

// ReleaseStartupPages drops this process's resident pages of its own
// executable's read-only mappings (code and constants) and asks the kernel
// not to map neighbouring pages on later faults.
//
// A freshly built or recently read binary sits in the page cache, and
// fault-around maps 16 pages at each fault, so a long-lived manager keeps
// most of the (large: HCL, gRPC, go-plugin) binary mapped although it
// runs a small part of it. The pages are clean and read-only: dropping
// them loses nothing, and what the manager does use is faulted back in
// from the page cache. Writable mappings are never touched.
func ReleaseStartupPages() error {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return fmt.Errorf("read own mappings: %w", err)
	}
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[5] != exe || strings.Contains(f[1], "w") {
			continue
		}
		var start, end uintptr
		if _, err := fmt.Sscanf(f[0], "%x-%x", &start, &end); err != nil || end <= start {
			continue
		}
		for _, advice := range []uintptr{unix.MADV_RANDOM, unix.MADV_DONTNEED} {
			if _, _, errno := unix.Syscall(unix.SYS_MADVISE, start, end-start, advice); errno != 0 {
				return fmt.Errorf("madvise(%s, %d): %w", f[0], advice, errno)
			}
		}
	}
	return nil
}
