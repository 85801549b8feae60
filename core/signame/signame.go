// Package signame names and parses signals the way the original zdaemon
// does on Linux: the client's "kill" argument rules, the client's canonical
// names ("signal SIGIO sent") and the manager's ("terminated by SIGPOLL").
package signame

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// The tables are built on first use, not in the init of every process that
// links the package (most client commands never name a signal).

// names are Python's underscore-free signal names on Linux.
var names = sync.OnceValue(func() map[string]syscall.Signal {
	return map[string]syscall.Signal{
		"SIGABRT": 6, "SIGALRM": 14, "SIGBUS": 7, "SIGCHLD": 17, "SIGCLD": 17, "SIGCONT": 18,
		"SIGFPE": 8, "SIGHUP": 1, "SIGILL": 4, "SIGINT": 2, "SIGIO": 29, "SIGIOT": 6,
		"SIGKILL": 9, "SIGPIPE": 13, "SIGPOLL": 29, "SIGPROF": 27, "SIGPWR": 30, "SIGQUIT": 3,
		"SIGRTMAX": 64, "SIGRTMIN": 34, "SIGSEGV": 11, "SIGSTKFLT": 16, "SIGSTOP": 19,
		"SIGSYS": 31, "SIGTERM": 15, "SIGTRAP": 5, "SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22,
		"SIGURG": 23, "SIGUSR1": 10, "SIGUSR2": 12, "SIGVTALRM": 26, "SIGWINCH": 28,
		"SIGXCPU": 24, "SIGXFSZ": 25,
	}
})

// clientNames maps a number to the alphabetically first name.
var clientNames = sync.OnceValue(func() map[syscall.Signal]string {
	byName := names()
	keys := make([]string, 0, len(byName))
	for k := range byName {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	m := make(map[syscall.Signal]string)
	for _, k := range keys {
		if _, ok := m[byName[k]]; !ok {
			m[byName[k]] = k
		}
	}
	return m
})

// managerOverrides are where the manager's table differs from the client's.
var managerOverrides = sync.OnceValue(func() map[syscall.Signal]string {
	return map[syscall.Signal]string{29: "SIGPOLL"}
})

// nsig is Linux's NSIG as Python sees it.
const nsig = 65

// Parse parses a kill argument as the original client does, with one
// deliberate change: a leading '-' on a number is accepted ("-9" is 9), as
// kill(1) users expect. The error text is "invalid signal '<arg>'".
func Parse(arg string) (syscall.Signal, error) {
	bad := fmt.Errorf("invalid signal %s", pyrepr.Str(arg))
	if n, err := pyrepr.Int(arg, 10); err == nil {
		if n < 0 {
			n = -n
		}
		if n >= nsig {
			return 0, bad
		}
		if _, ok := clientNames()[syscall.Signal(n)]; !ok {
			return 0, bad
		}
		return syscall.Signal(n), nil
	}
	if strings.Contains(arg, "_") {
		return 0, bad
	}
	name := strings.ToUpper(strings.TrimPrefix(arg, "Signals."))
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig, ok := names()[name]
	if !ok {
		return 0, bad
	}
	return sig, nil
}

// ClientName is the client's name for sig: the alphabetically first name
// Python's signal module has for it (6 is SIGABRT, 29 is SIGIO).
func ClientName(sig syscall.Signal) string {
	if n, ok := clientNames()[sig]; ok {
		return n
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// ManagerNameOf is ManagerName of an os.Signal; one that is no
// syscall.Signal is named by its String.
func ManagerNameOf(sig os.Signal) string {
	if ss, ok := sig.(syscall.Signal); ok {
		return ManagerName(ss)
	}
	return sig.String()
}

// ManagerName is the manager's name for sig, as in "terminated by
// SIGTERM" (29 is SIGPOLL there); unknown numbers are "signal <n>".
func ManagerName(sig syscall.Signal) string {
	if n, ok := managerOverrides()[sig]; ok {
		return n
	}
	return ClientName(sig)
}
