// Command zdexec is zdaemon's exec trampoline for a program that gets
// listen sockets. sd_listen_fds(3) (and go-systemd, and every library
// like them) uses the descriptors only when LISTEN_PID is the program's
// own pid, which nobody knows before the fork, and Go's ForkExec fixes
// the environment before it forks. So the manager (zdrun, beside this
// file) starts zdexec in the program's place, with everything the program
// gets (pid, process group, credentials, directory, descriptors,
// parent-death signal, environment); zdexec adds LISTEN_PID=<its pid> to
// the environment and execve(2)s the program, which keeps all of it.
//
//	zdexec FD PATH ARGV0 [ARG...]
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
	if len(os.Args) < 4 {
		os.Stderr.WriteString("Usage: zdexec FD PATH ARGV0 [ARG...]\n\n  zdexec is zdaemon's exec trampoline for programs with listen sockets;\n  zdrun runs it. Run zdaemon instead.\n")
		os.Exit(2)
	}
	fd, err := strconv.Atoi(os.Args[1])
	if err != nil || fd < 3 {
		os.Stderr.WriteString("zdexec: bad descriptor " + strconv.Quote(os.Args[1]) + "\n")
		os.Exit(2)
	}
	syscall.CloseOnExec(fd)
	env := append(syscall.Environ(), "LISTEN_PID="+strconv.Itoa(syscall.Getpid()))
	err = syscall.Exec(os.Args[2], os.Args[3:], env)
	errno, ok := err.(syscall.Errno)
	if !ok {
		errno = syscall.EINVAL
	}
	_, _ = syscall.Write(fd, []byte(strconv.Itoa(int(errno))))
	os.Exit(127)
}
