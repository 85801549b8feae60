//go:build unix

package logfile

import (
	"errors"
	"os"
	"syscall"
)

// errLocked is a lock another open file holds.
var errLocked = syscall.EWOULDBLOCK

// lockFile takes an exclusive flock(2) on f, waiting for it unless
// nowait. The file stays usable while a wait lasts: closing it ends the
// wait only once the lock is granted.
func lockFile(f *os.File, nowait bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	how := syscall.LOCK_EX
	if nowait {
		how |= syscall.LOCK_NB
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) {
		for {
			lerr = syscall.Flock(int(fd), how)
			if !errors.Is(lerr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	return lerr
}
