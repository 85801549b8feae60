//go:build linux

package child

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// The parent-death signal (PR_SET_PDEATHSIG) of the program and of the
// plugins fires when the thread that forked them ends, not the process,
// and execve(2) ends every thread but the one that calls it. So when a
// manager upgrades in place, a child forked by any other thread would get
// its death signal (the program: SIGKILL). Hence one thread forks every
// child and runs the upgrade's execve: the main thread, which stays the
// main thread (and the only thread) of the new manager, so the next
// upgrade keeps them too.

// mainCalls carries work to the goroutine locked to the main thread; nil
// while nobody serves it (tests, the client): work then runs in place.
var mainCalls atomic.Pointer[chan func()]

// ErrNotMainThread is returned by ServeMainThread when its caller does
// not run on the process's main thread.
var ErrNotMainThread = errors.New("not on the main thread (call runtime.LockOSThread in an init function of package main)")

// ServeMainThread runs fn on a new goroutine and, until it returns, runs
// every fork of a Reaper and every Exec on the calling goroutine, which
// must be locked to the main thread: call runtime.LockOSThread in an init
// function of package main, then ServeMainThread from main. It returns
// fn's result.
func ServeMainThread(fn func() int) (int, error) {
	if unix.Gettid() != os.Getpid() {
		return 0, ErrNotMainThread
	}
	calls := make(chan func())
	mainCalls.Store(&calls)
	done := make(chan int, 1)
	go func() { done <- fn() }()
	for {
		select {
		case f := <-calls:
			f()
		case code := <-done:
			return code, nil
		}
	}
}

// onMainThread runs f on the main thread when ServeMainThread serves it,
// in place otherwise.
func onMainThread(f func()) {
	c := mainCalls.Load()
	if c == nil {
		f()
		return
	}
	ok := make(chan struct{})
	*c <- func() { defer close(ok); f() }
	<-ok
}

// forkExec is syscall.ForkExec on the main thread.
func forkExec(path string, argv []string, attr *syscall.ProcAttr) (pid int, err error) {
	onMainThread(func() { pid, err = syscall.ForkExec(path, argv, attr) })
	return pid, err
}

// Exec replaces the process with path (execve) from the main thread,
// keeping its pid and its children. prepare runs first on the same
// thread, so no fork can come between it and the execve (a child forked
// then would inherit what prepare makes inheritable): it returns the
// arguments and what undoes it when execve fails. Exec returns only when
// something failed; the process then goes on as before.
func Exec(path string, env []string, prepare func() (argv []string, undo func(), err error)) error {
	var err error
	onMainThread(func() {
		argv, undo, perr := prepare()
		if perr != nil {
			err = perr
			return
		}
		err = fmt.Errorf("execve %s: %w", pyrepr.Str(path), syscall.Exec(path, argv, env))
		undo()
	})
	return err
}
