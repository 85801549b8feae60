package child

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/zdaemon/zdaemon/core/pyrepr"
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

// Resolution errors. Their texts are the original's.
var (
	ErrNotFound   = errors.New("program not found")
	ErrPermission = errors.New("no permission to run program")
)

// DefaultPath is searched when PATH is unset or empty, as the original does.
const DefaultPath = "/bin:/usr/bin:/usr/local/bin"

// Resolve finds the executable for word the way the original manager does:
// a word with a slash must exist (relative ones are made absolute against
// the current directory), others are searched on pathEnv; the result must
// be executable. Error texts are the original's.
func Resolve(word, pathEnv string) (string, error) {
	var file string
	if strings.Contains(word, "/") {
		if _, err := os.Stat(word); err != nil {
			return "", fmt.Errorf("can't stat program %s: %w", pyrepr.Str(word), ErrNotFound)
		}
		abs, err := filepath.Abs(word)
		if err != nil {
			return "", fmt.Errorf("resolve program %q: %w", word, err)
		}
		file = abs
	} else {
		if pathEnv == "" {
			pathEnv = DefaultPath
		}
		dirs := strings.Split(pathEnv, ":")
		for _, dir := range dirs {
			cand := filepath.Join(dir, word)
			if st, err := os.Stat(cand); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				file = cand
				break
			}
		}
		if file == "" {
			quoted := make([]string, len(dirs))
			for i, d := range dirs {
				quoted[i] = pyrepr.Str(d)
			}
			return "", fmt.Errorf("can't find program %s on PATH [%s]: %w", pyrepr.Str(word), strings.Join(quoted, ", "), ErrNotFound)
		}
		if abs, err := filepath.Abs(file); err == nil {
			file = abs
		}
	}
	if err := syscall.Access(file, 1 /* X_OK */); err != nil {
		return "", fmt.Errorf("no permission to run program %s: %w", pyrepr.Str(file), ErrPermission)
	}
	return file, nil
}

// Message returns the user-facing text of a Resolve error (without the
// wrapped sentinel).
func Message(err error) string {
	s := err.Error()
	for _, sentinel := range []error{ErrNotFound, ErrPermission} {
		s = strings.TrimSuffix(s, ": "+sentinel.Error())
	}
	return s
}
