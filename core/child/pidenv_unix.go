//go:build unix

package child

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// trampolineWait bounds how long Start waits for the trampoline to
// execute the program (zdexec starts in about a millisecond).
const trampolineWait = 10 * time.Second

// startTrampoline starts spec through spec.Trampoline, which sets the
// variables of spec.PidEnv to its own pid and then executes the program
// in place (execve keeps the pid): the only way to give a program an
// environment that names its own pid, since the environment is fixed
// before fork. It returns once the program is executed, with the error
// execve gave the trampoline otherwise, so a program that cannot be
// executed fails here as without a trampoline.
func (r *Reaper) startTrampoline(spec Spec, attr *syscall.ProcAttr) (*Process, error) {
	rep, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("exec report pipe: %w", err)
	}
	defer rep.Close()
	fd := len(attr.Files)
	attr.Files = append(attr.Files, w.Fd())
	// "zdexec FD NAMES PATH ARGV0 [ARG...]" (cmd/zdexec).
	argv := append([]string{spec.Trampoline, strconv.Itoa(fd), strings.Join(spec.PidEnv, ","), spec.Path}, spec.Argv...)
	r.mu.Lock()
	pid, err := forkExec(spec.Trampoline, argv, attr) // on the main thread: see thread_linux.go
	var p *Process
	if err == nil {
		p = &Process{pid: pid, done: make(chan ExitStatus, 1)}
		r.procs[pid] = p
	}
	r.mu.Unlock()
	w.Close()
	if err != nil {
		return nil, fmt.Errorf("can't exec %s: %w", pyrepr.Str(spec.Trampoline), err)
	}
	// The write end closes at the program's execve (the trampoline marks
	// it close-on-exec); before that, a failed execve writes its errno.
	_ = rep.SetReadDeadline(time.Now().Add(trampolineWait))
	var buf [32]byte
	n, rerr := rep.Read(buf[:])
	if n == 0 && errors.Is(rerr, os.ErrDeadlineExceeded) {
		_ = p.Signal(syscall.SIGKILL, false)
		return nil, fmt.Errorf("can't exec %s: the exec helper %s did not run it within %v", pyrepr.Str(spec.Path), spec.Trampoline, trampolineWait)
	}
	if n == 0 {
		return p, nil
	}
	errno, perr := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	// The trampoline exits at once after its report: reap it before the
	// caller counts the failure, so that nothing is left behind.
	select {
	case <-p.done:
	case <-time.After(trampolineWait):
		_ = p.Signal(syscall.SIGKILL, false)
	}
	if perr != nil {
		return nil, fmt.Errorf("can't exec %s: the exec helper reported %q", pyrepr.Str(spec.Path), buf[:n])
	}
	return nil, fmt.Errorf("can't exec %s: %w", pyrepr.Str(spec.Path), syscall.Errno(errno))
}
