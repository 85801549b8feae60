//go:build unix

package pluginhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-plugin/runner"

	"github.com/zdaemon/zdaemon/core/child"
)

// spawnFunc starts a plugin process in a process group of its own (its
// pid is the group id) with stdout and stderr on the given pipes and
// extra as its descriptors 3...; wait blocks until the process has exited
// and says how it ended. deathSignal is its parent-death signal.
type spawnFunc func(cmd *exec.Cmd, extra []*os.File, stdout, stderr *os.File, deathSignal syscall.Signal) (pid int, wait func() child.ExitStatus, err error)

// reaperSpawn starts plugin processes through the manager's reaper, which
// is the only code in the manager allowed to wait for children.
func reaperSpawn(r *child.Reaper) spawnFunc {
	return func(cmd *exec.Cmd, extra []*os.File, stdout, stderr *os.File, sig syscall.Signal) (int, func() child.ExitStatus, error) {
		proc, err := r.Start(child.Spec{
			Path:        cmd.Path,
			Argv:        cmd.Args,
			Env:         cmd.Env,
			Dir:         cmd.Dir,
			Stdout:      stdout,
			Stderr:      stderr,
			Extra:       extra,
			DeathSignal: sig,
		})
		if err != nil {
			return 0, nil, err
		}
		return proc.Pid(), func() child.ExitStatus { return <-proc.Done() }, nil
	}
}

// execSpawn starts plugin processes with os/exec, in the client (zdaemon
// validate, and decoding a job file's plugin blocks), where no reaper runs.
func execSpawn(cmd *exec.Cmd, extra []*os.File, stdout, stderr *os.File, sig syscall.Signal) (int, func() child.ExitStatus, error) {
	cmd.Stdin = nil // /dev/null, not the terminal
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.ExtraFiles = extra
	cmd.SysProcAttr = groupAttr(sig)
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("can't exec %s: %w", cmd.Path, err)
	}
	return cmd.Process.Pid, func() child.ExitStatus {
		_ = cmd.Wait() // how it ended is in ProcessState
		if cmd.ProcessState == nil {
			return child.ExitStatus{Code: -1} // someone else reaped it
		}
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		return child.FromWaitStatus(ws)
	}, nil
}

// groupRunner is go-plugin's runner for our plugin processes. Each
// plugin runs in its own process group, and whenever the plugin ends
// (it exits, or go-plugin kills it after a failed handshake or at
// shutdown) the whole group gets SIGKILL and our ends of its stdout and
// stderr pipes end (after what is already in them has been read), so
// that go-plugin never waits for an end of file held open by a
// grandchild (a wrapper script without exec, a child of the plugin that
// left the group).
type groupRunner struct {
	cmd         *exec.Cmd
	extra       []*os.File
	spawn       spawnFunc
	deathSignal syscall.Signal

	pid            int
	stdout, stderr *pipeEnd
	exited         chan struct{}
	status         child.ExitStatus // set before exited is closed
	// killed is set when Kill ran before the plugin exited by itself.
	killed atomic.Bool
}

func (r *groupRunner) Start(context.Context) error {
	outR, outW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("plugin stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return fmt.Errorf("plugin stderr pipe: %w", err)
	}
	pid, wait, err := r.spawn(r.cmd, r.extra, outW, errW, r.deathSignal)
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return err
	}
	r.pid = pid
	r.stdout = &pipeEnd{f: outR, keep: keepFirstLine}
	r.stderr = &pipeEnd{f: errR, keep: keepLastLine}
	r.exited = make(chan struct{})
	go func() {
		r.status = wait()
		// Whatever the plugin started (a start-test command, the
		// grandchild of a wrapper script) goes with it.
		r.end()
		close(r.exited)
	}()
	return nil
}

// end ends our pipe ends and kills the plugin's process group (in this
// order: an end of file the kill causes is then not the plugin's doing).
func (r *groupRunner) end() {
	r.stdout.end()
	r.stderr.end()
	// An error (ESRCH: the group is gone already) changes nothing.
	_ = syscall.Kill(-r.pid, syscall.SIGKILL)
}

func (r *groupRunner) Wait(ctx context.Context) error {
	select {
	case <-r.exited:
	case <-ctx.Done():
		return ctx.Err()
	}
	if r.status.Code != 0 {
		return fmt.Errorf("plugin %s: %s", r.cmd.Path, r.status)
	}
	return nil
}

// Kill ends the plugin at once; go-plugin calls it after a failed
// handshake and when a graceful shutdown did not finish.
func (r *groupRunner) Kill(context.Context) error {
	if r.pid == 0 {
		return nil
	}
	select {
	case <-r.exited:
		return nil
	default:
	}
	r.killed.Store(true)
	r.end()
	return nil
}

func (r *groupRunner) Stdout() io.ReadCloser           { return r.stdout }
func (r *groupRunner) Stderr() io.ReadCloser           { return r.stderr }
func (r *groupRunner) Name() string                    { return r.cmd.Path }
func (r *groupRunner) Diagnose(context.Context) string { return "" }

func (r *groupRunner) ID() string {
	if r.pid == 0 {
		return ""
	}
	return strconv.Itoa(r.pid)
}

func (r *groupRunner) PluginToHost(n, a string) (string, string, error) { return n, a, nil }
func (r *groupRunner) HostToPlugin(n, a string) (string, string, error) { return n, a, nil }

// What a pipeEnd remembers of the bytes read through it, for error
// messages.
const (
	keepFirstLine = iota + 1 // stdout: where the handshake should be
	keepLastLine             // stderr: the plugin's last words
)

// maxKept bounds what a pipeEnd remembers.
const maxKept = 512

// pipeEnd is our read end of a plugin's stdout or stderr. Once ended, a
// read returns what the pipe held at that moment and then end of file,
// however long another process keeps the write end open; the file is
// closed at end of file. One goroutine (go-plugin's) reads it.
type pipeEnd struct {
	f     *os.File
	keep  int
	ended atomic.Bool

	// eof is set when the plugin's side closed the pipe by itself.
	eof atomic.Bool

	// Only the reader touches these.
	left      int // bytes still to read after the end
	leftKnown bool
	closed    bool

	mu   sync.Mutex
	kept []byte // the first line, or the last bytes
	done bool   // the first line is complete
}

// end makes reads return what the pipe holds now and then end of file,
// waking up a read that blocks.
func (p *pipeEnd) end() {
	if p.ended.Swap(true) {
		return
	}
	_ = p.f.SetReadDeadline(time.Now())
}

func (p *pipeEnd) Read(b []byte) (int, error) {
	if p.closed {
		return 0, io.EOF
	}
	var n int
	var err error
	if p.ended.Load() {
		n, err = p.readRest(b)
	} else {
		n, err = p.f.Read(b)
		if errors.Is(err, os.ErrDeadlineExceeded) && p.ended.Load() {
			n, err = p.readRest(b)
		} else if errors.Is(err, io.EOF) && !p.ended.Load() {
			p.eof.Store(true)
		}
	}
	p.remember(b[:n])
	if err != nil {
		p.closed = true
		p.f.Close()
		if errors.Is(err, os.ErrClosed) {
			err = io.EOF
		}
	}
	return n, err
}

// readRest reads what the pipe held when it ended, then reports end of
// file.
func (p *pipeEnd) readRest(b []byte) (int, error) {
	if !p.leftKnown {
		p.left, p.leftKnown = pending(p.f), true
	}
	for p.left > 0 {
		// end may set the deadline after we cleared it: then try again.
		_ = p.f.SetReadDeadline(time.Time{})
		n, err := p.f.Read(b[:min(len(b), p.left)])
		p.left -= n
		if errors.Is(err, os.ErrDeadlineExceeded) && n == 0 {
			continue
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.EOF
}

func (p *pipeEnd) remember(b []byte) {
	if len(b) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.keep {
	case keepFirstLine:
		if p.done {
			return
		}
		for _, c := range b {
			if c == '\n' || len(p.kept) == maxKept {
				p.done = true
				return
			}
			p.kept = append(p.kept, c)
		}
	case keepLastLine:
		p.kept = append(p.kept, b...)
		if len(p.kept) > 2*maxKept {
			p.kept = append([]byte(nil), p.kept[len(p.kept)-maxKept:]...)
		}
	}
}

// firstLine is the first line read (without its newline).
func (p *pipeEnd) firstLine() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.kept)
}

// lastLine is the last non-empty line read.
func (p *pipeEnd) lastLine() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := bytes.TrimRight(p.kept, "\r\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return string(b)
}

// Close closes our end (go-plugin never calls it; the reader does at end
// of file).
func (p *pipeEnd) Close() error {
	p.end()
	return nil
}

var _ runner.Runner = (*groupRunner)(nil)
