//go:build unix && !linux

package child

import (
	"fmt"
	"syscall"

	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// forkExec is syscall.ForkExec: only Linux has parent-death signals, so
// any thread may fork.
func forkExec(path string, argv []string, attr *syscall.ProcAttr) (int, error) {
	return syscall.ForkExec(path, argv, attr)
}

// ServeMainThread runs fn: outside Linux no thread needs to be kept.
func ServeMainThread(fn func() int) (int, error) { return fn(), nil }

// Exec replaces the process with path (execve) after prepare; it
// returns only when something failed.
func Exec(path string, env []string, prepare func() (argv []string, undo func(), err error)) error {
	argv, undo, err := prepare()
	if err != nil {
		return err
	}
	err = fmt.Errorf("execve %s: %w", pyrepr.Str(path), syscall.Exec(path, argv, env))
	undo()
	return err
}
