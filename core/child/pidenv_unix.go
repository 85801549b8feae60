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

	"golang.org/x/sys/unix"

	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// TrampolineArg is the first argument that makes the manager executable
// the trampoline of a child with PidEnv: "zdrun --exec-pid FD NAMES PATH
// ARGV...".
const TrampolineArg = "--exec-pid"

// trampolineWait bounds how long Start waits for the trampoline to
// execute the program (it is the manager executable starting up).
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
	argv := append([]string{spec.Trampoline, TrampolineArg, strconv.Itoa(fd), strings.Join(spec.PidEnv, ","), spec.Path}, spec.Argv...)
	r.mu.Lock()
	pid, err := syscall.ForkExec(spec.Trampoline, argv, attr)
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

// Trampoline is the manager executable's --exec-pid mode (args are what
// follows TrampolineArg): it sets each of NAMES (comma-separated) to its
// own pid, marks the report descriptor FD close-on-exec and executes PATH
// with ARGV. It returns only when execve failed, having written the errno
// to FD; the exit status is then 127, as a shell's for a program it cannot
// run.
func Trampoline(args []string) int {
	if len(args) < 4 {
		fmt.Fprintf(os.Stderr, "usage: %s FD NAMES PATH ARGV...\n", TrampolineArg)
		return 2
	}
	fd, err := strconv.Atoi(args[0])
	if err != nil || fd < 3 {
		fmt.Fprintf(os.Stderr, "%s: bad report descriptor %q\n", TrampolineArg, args[0])
		return 2
	}
	unix.CloseOnExec(fd)
	self := strconv.Itoa(os.Getpid())
	env := os.Environ()
	for _, name := range strings.Split(args[1], ",") {
		if name == "" {
			continue
		}
		env = setEnv(env, name, self)
	}
	err = syscall.Exec(args[2], args[3:], env)
	errno := syscall.EINVAL
	errors.As(err, &errno)
	_, _ = unix.Write(fd, []byte(strconv.Itoa(int(errno))))
	return 127
}

// setEnv sets name=value in env, replacing an earlier value.
func setEnv(env []string, name, value string) []string {
	prefix := name + "="
	for i, kv := range env {
		if strings.HasPrefix(kv, prefix) {
			env[i] = prefix + value
			return env
		}
	}
	return append(env, prefix+value)
}
