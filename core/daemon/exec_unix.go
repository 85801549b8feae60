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

// Exec replaces this process with the manager executable exe (zdrun-plugins
// beside it for a job with plugins, see PluginHost; argv args
// after it, environment env), attached to this process's terminal, with
// cfg on ConfigFD as the hand-off carries it (ReadConfig reads it). It
// returns only if the exec failed.
func Exec(exe string, args, env []string, cfg *config.Config) error {
	exe = managerFor(exe, cfg)
	r, err := configPipe(cfg)
	if err != nil {
		return err
	}
	defer r.Close()
	err = syscall.Exec(exe, append([]string{exe}, args...), managerEnv(env))
	return fmt.Errorf("run the manager executable %s: %w", exe, err)
}

// Forward replaces this manager, before it has done anything, with the
// manager executable exe (argv args after it), handing on what its client
// handed it: cfg on ConfigFD, and the notifier n (nil for an attached
// manager) on NotifyFD. The process stays the one its client waits for.
// It returns only if the exec failed; n still works then.
func Forward(exe string, args []string, cfg *config.Config, n *Notifier) error {
	r, err := configPipe(cfg)
	if err != nil {
		return err
	}
	defer r.Close()
	if n != nil && n.w != nil {
		if _, err := unix.FcntlInt(NotifyFD, unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("notification descriptor: %w", err)
		}
		defer syscall.CloseOnExec(NotifyFD)
	}
	err = syscall.Exec(exe, append([]string{exe}, args...), os.Environ())
	return fmt.Errorf("run %s: %w", exe, err)
}

// configPipe puts cfg, encoded as the hand-off carries it, in a pipe
// whose read end is ConfigFD, open across exec. The caller closes r once
// the exec failed (r may be ConfigFD itself).
func configPipe(cfg *config.Config) (*os.File, error) {
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode configuration: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("config pipe: %w", err)
	}
	// The whole configuration waits in the pipe for the manager: make room.
	if len(data) >= 1<<16 {
		if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, len(data)+1); err != nil {
			r.Close()
			w.Close()
			return nil, fmt.Errorf("configuration of %d bytes: %w", len(data), err)
		}
	}
	_, err = w.Write(data)
	w.Close()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("write configuration: %w", err)
	}
	rfd := int(r.Fd())
	if rfd == ConfigFD {
		if _, err := unix.FcntlInt(uintptr(rfd), unix.F_SETFD, 0); err != nil {
			r.Close()
			return nil, fmt.Errorf("config descriptor: %w", err)
		}
	} else if err := unix.Dup2(rfd, ConfigFD); err != nil {
		r.Close()
		return nil, fmt.Errorf("config descriptor: %w", err)
	}
	return r, nil
}
