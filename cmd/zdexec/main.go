// Command zdexec is zdaemon's exec trampoline for a program whose
// environment names its own pid: LISTEN_PID for listen sockets
// (sd_listen_fds(3), go-systemd and every library like them use the
// descriptors only when it is the program's own pid) and WATCHDOG_PID for
// the watchdog (sd_watchdog_enabled(3)). Nobody knows the pid before the
// fork, and Go's ForkExec fixes the environment before it forks. So the
// manager (zdrun, beside this file) starts zdexec in the program's place,
// with everything the program gets (pid, process group, credentials,
// directory, descriptors, parent-death signal, environment); zdexec sets
// each of NAMES (comma-separated) to its pid in the environment and
// execve(2)s the program, which keeps all of it.
//
//	zdexec FD NAMES PATH ARGV0 [ARG...]
//
// FD is a pipe to the manager: zdexec marks it close-on-exec, so a
// successful exec closes it, and a failed one writes the errno there
// (the manager reports "can't exec", as it does without zdexec) and exits
// with status 127. It imports nothing beyond os, strconv and syscall, to
// start in well under a millisecond; nobody needs to run it by hand.
package main

import (
	"os"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) < 5 {
		os.Stderr.WriteString("Usage: zdexec FD NAMES PATH ARGV0 [ARG...]\n\n  zdexec is zdaemon's exec trampoline for programs with listen sockets\n  or a watchdog; zdrun runs it. Run zdaemon instead.\n")
		os.Exit(2)
	}
	fd, err := strconv.Atoi(os.Args[1])
	if err != nil || fd < 3 {
		os.Stderr.WriteString("zdexec: bad descriptor " + strconv.Quote(os.Args[1]) + "\n")
		os.Exit(2)
	}
	syscall.CloseOnExec(fd)
	self := strconv.Itoa(syscall.Getpid())
	env := syscall.Environ()
	for _, name := range split(os.Args[2]) {
		env = setEnv(env, name, self)
	}
	err = syscall.Exec(os.Args[3], os.Args[4:], env)
	errno, ok := err.(syscall.Errno)
	if !ok {
		errno = syscall.EINVAL
	}
	_, _ = syscall.Write(fd, []byte(strconv.Itoa(int(errno))))
	os.Exit(127)
}

// split is NAMES as a list (strings is not imported, to stay small).
func split(names string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(names); i++ {
		if i == len(names) || names[i] == ',' {
			if i > start {
				out = append(out, names[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// setEnv sets name=value in env, replacing an inherited value.
func setEnv(env []string, name, value string) []string {
	prefix := name + "="
	for i, kv := range env {
		if len(kv) >= len(prefix) && kv[:len(prefix)] == prefix {
			env[i] = prefix + value
			return env
		}
	}
	return append(env, prefix+value)
}
