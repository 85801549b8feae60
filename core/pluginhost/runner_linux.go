package pluginhost

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// groupAttr puts an os/exec plugin process in its own process group, with
// sig as its parent-death signal.
func groupAttr(sig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: sig}
}

// pending is how many bytes f (a pipe) holds (FIONREAD).
func pending(f *os.File) int {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	_ = rc.Control(func(fd uintptr) {
		n, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ)
	})
	return n
}
