package child

import (
	"fmt"
	"os"
	"syscall"

	"github.com/zdaemon/zdaemon/core/signame"
)

// Spec describes one process to start.
type Spec struct {
	// Path is the resolved executable; Argv[0] stays as the user wrote it.
	Path string
	Argv []string
	// Env is the complete environment ("NAME=value").
	Env []string
	// Dir is the working directory ("" = the manager's).
	Dir string
	// Stdout and Stderr receive the program's output; nil means /dev/null.
	// Stdin is always /dev/null.
	Stdout, Stderr *os.File
	// Extra are more descriptors for the child: Extra[i] becomes fd 3+i
	// (nil: that descriptor is closed).
	Extra []*os.File
	// Credential, when set, switches user in the child before exec.
	Credential *syscall.Credential
	// DeathSignal is sent to the child when the manager dies (the
	// parent-death signal); 0 sends none. The program gets SIGKILL; a
	// transcript sink gets SIGTERM, which tells it to write what is left in
	// its pipe and exit.
	DeathSignal syscall.Signal
	// PidEnv names environment variables the child gets set to its own
	// pid (WATCHDOG_PID, LISTEN_PID), which exists only after fork: such a
	// child is started through Trampoline (zdexec, beside the manager),
	// which sets them and executes Path in its place, keeping everything
	// else. A program that cannot be executed is still Start's error.
	PidEnv     []string
	Trampoline string
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	// Code is the exit code, or -1 when a signal ended the process.
	Code int
	// Signal that ended the process (0 when it exited).
	Signal syscall.Signal
	// CoreDumped is set when the signal left a core file.
	CoreDumped bool
}

// FromWaitStatus decodes a wait status.
func FromWaitStatus(ws syscall.WaitStatus) ExitStatus {
	switch {
	case ws.Exited():
		return ExitStatus{Code: ws.ExitStatus()}
	case ws.Signaled():
		return ExitStatus{Code: -1, Signal: ws.Signal(), CoreDumped: ws.CoreDump()}
	default:
		return ExitStatus{Code: -1}
	}
}

// String is zdaemon's wording: "exit status 1", "terminated by SIGTERM".
func (e ExitStatus) String() string {
	if e.Signal != 0 {
		s := "terminated by " + signame.ManagerName(e.Signal)
		if e.CoreDumped {
			s += " (core dumped)"
		}
		return s
	}
	if e.Code < 0 {
		return "unknown termination cause"
	}
	return fmt.Sprintf("exit status %d", e.Code)
}
