//go:build unix

package child

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// Process is one started child.
type Process struct {
	pid  int
	done chan ExitStatus
}

// Pid is the child's process id (and process group id).
func (p *Process) Pid() int { return p.pid }

// Done delivers the child's exit status once, then is closed.
func (p *Process) Done() <-chan ExitStatus { return p.done }

// Signal sends sig to the child, or to its whole process group when group
// is set. A child that is already gone is not an error.
func (p *Process) Signal(sig syscall.Signal, group bool) error {
	target := p.pid
	if group {
		target = -p.pid
	}
	err := syscall.Kill(target, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("signal pid %d: %w", target, err)
	}
	return nil
}

// Reaper starts children and reaps every child of this process.
type Reaper struct {
	logger *slog.Logger
	sigc   chan os.Signal

	mu sync.Mutex
	// procs are the started children not yet reaped. Start holds mu from
	// fork to registration, so reap (which looks pids up under mu) always
	// finds a child it reaped, however soon that child exited.
	procs map[int]*Process
}

// NewReaper starts listening for SIGCHLD. Call Run to reap and Stop when
// done.
func NewReaper(logger *slog.Logger) *Reaper {
	r := &Reaper{
		logger: logger,
		sigc:   make(chan os.Signal, 1),
		procs:  make(map[int]*Process),
	}
	signal.Notify(r.sigc, syscall.SIGCHLD)
	return r
}

// Run reaps children until ctx is done. It blocks on SIGCHLD and wakes up
// for nothing else.
func (r *Reaper) Run(ctx context.Context) {
	defer signal.Stop(r.sigc)
	r.reap()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.sigc:
			r.reap()
		}
	}
}

// reap collects every exited child without blocking.
func (r *Reaper) reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
		if !ws.Exited() && !ws.Signaled() {
			continue // stopped or continued: not an exit
		}
		st := FromWaitStatus(ws)
		r.mu.Lock()
		p := r.procs[pid]
		delete(r.procs, pid)
		r.mu.Unlock()
		if p == nil {
			r.logger.Debug(fmt.Sprintf("unknown process %d exited", pid))
			continue
		}
		p.done <- st
		close(p.done)
	}
}

// Start starts a child as described by spec. The child gets its own process
// group, /dev/null on stdin and no other descriptor beyond stdout and stderr.
func (r *Reaper) Start(spec Spec) (*Process, error) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err // an *os.PathError: "open /dev/null: ..."
	}
	defer devnull.Close()
	out, errf := spec.Stdout, spec.Stderr
	if out == nil {
		out = devnull
	}
	if errf == nil {
		errf = devnull
	}
	attr := &syscall.ProcAttr{
		Dir:   spec.Dir,
		Env:   spec.Env,
		Files: append([]uintptr{devnull.Fd(), out.Fd(), errf.Fd()}, fds(spec.Extra)...),
		Sys: &syscall.SysProcAttr{
			Setpgid:    true,
			Credential: spec.Credential,
		},
	}
	attr.Sys.Pdeathsig = spec.DeathSignal
	if len(spec.PidEnv) > 0 {
		return r.startTrampoline(spec, attr)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := forkExec(spec.Path, spec.Argv, attr)
	if err != nil {
		return nil, fmt.Errorf("can't exec %s: %w", pyrepr.Str(spec.Path), err)
	}
	p := &Process{pid: pid, done: make(chan ExitStatus, 1)}
	r.procs[pid] = p
	return p, nil
}

// Adopt supervises a child this process already has: one a previous
// manager started before it re-executed itself (upgrade). Call it before
// Run, which reaps what exited meanwhile.
func (r *Reaper) Adopt(pid int) *Process {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := &Process{pid: pid, done: make(chan ExitStatus, 1)}
	r.procs[pid] = p
	return p
}

// fds maps files to descriptors; a nil file is a closed descriptor.
func fds(files []*os.File) []uintptr {
	out := make([]uintptr, len(files))
	for i, f := range files {
		if f == nil {
			out[i] = ^uintptr(0)
			continue
		}
		out[i] = f.Fd()
	}
	return out
}
