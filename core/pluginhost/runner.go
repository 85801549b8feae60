package pluginhost

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/hashicorp/go-plugin/runner"

	"github.com/zdaemon/zdaemon/core/child"
)

// reaperRunner runs a plugin process through the manager's reaper, which
// is the only code in the manager allowed to wait for children.
type reaperRunner struct {
	reaper *child.Reaper
	cmd    *exec.Cmd
	extra  []*os.File

	proc           *child.Process
	stdout, stderr io.ReadCloser
	exited         chan struct{}
	status         child.ExitStatus
}

func (r *reaperRunner) Start(context.Context) error {
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
	proc, err := r.reaper.Start(child.Spec{
		Path:          r.cmd.Path,
		Argv:          r.cmd.Args,
		Env:           r.cmd.Env,
		Dir:           r.cmd.Dir,
		Stdout:        outW,
		Stderr:        errW,
		Extra:         r.extra,
		DieWithParent: true,
	})
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return err
	}
	r.proc, r.stdout, r.stderr = proc, outR, errR
	r.exited = make(chan struct{})
	go func() {
		r.status = <-proc.Done()
		// Whatever the plugin started (a start-test command) goes with it.
		_ = proc.Signal(syscall.SIGKILL, true)
		close(r.exited)
	}()
	return nil
}

func (r *reaperRunner) Wait(ctx context.Context) error {
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

func (r *reaperRunner) Kill(context.Context) error {
	if r.proc == nil {
		return nil
	}
	return r.proc.Signal(syscall.SIGKILL, true)
}

func (r *reaperRunner) Stdout() io.ReadCloser           { return r.stdout }
func (r *reaperRunner) Stderr() io.ReadCloser           { return r.stderr }
func (r *reaperRunner) Name() string                    { return r.cmd.Path }
func (r *reaperRunner) Diagnose(context.Context) string { return "" }

func (r *reaperRunner) ID() string {
	if r.proc == nil {
		return ""
	}
	return strconv.Itoa(r.proc.Pid())
}

func (r *reaperRunner) PluginToHost(n, a string) (string, string, error) { return n, a, nil }
func (r *reaperRunner) HostToPlugin(n, a string) (string, string, error) { return n, a, nil }

var _ runner.Runner = (*reaperRunner)(nil)
