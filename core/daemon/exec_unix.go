//go:build unix

package daemon

import (
	"encoding/json"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/zdaemon/zdaemon/core/config"
)

// Exec replaces this process with the manager executable exe (argv args
// after it, environment env), attached to this process's terminal, with
// cfg on ConfigFD as the hand-off carries it (ReadConfig reads it). It
// returns only if the exec failed.
func Exec(exe string, args, env []string, cfg *config.Config) error {
	data, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode configuration: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("config pipe: %w", err)
	}
	defer r.Close()
	// The whole configuration waits in the pipe for the manager: make room.
	if len(data) >= 1<<16 {
		if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, len(data)+1); err != nil {
			w.Close()
			return fmt.Errorf("configuration of %d bytes: %w", len(data), err)
		}
	}
	_, err = w.Write(data)
	w.Close()
	if err != nil {
		return fmt.Errorf("write configuration: %w", err)
	}
	rfd := int(r.Fd())
	if rfd == ConfigFD {
		if _, err := unix.FcntlInt(uintptr(rfd), unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("config descriptor: %w", err)
		}
	} else if err := unix.Dup2(rfd, ConfigFD); err != nil {
		return fmt.Errorf("config descriptor: %w", err)
	}
	err = syscall.Exec(exe, append([]string{exe}, args...), env)
	return fmt.Errorf("run the manager executable %s: %w", exe, err)
}
