// Command sigcounter writes the lines "0\n", "1\n", ... to stdout, a
// batch of 100 every millisecond, and traps every signal it can be sent and survive: each one
// it gets is appended to the file named by its argument ("SIGNAL <name>"
// and the line count so far). SIGTERM then ends it, after its current
// write; every other signal lets it go on. The upgrade tests run it.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sigcounter SIGNAL-FILE")
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 64)
	// Every signal a process may be sent and survive, but SIGURG (the Go
	// runtime's own preemption signal).
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
		syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTERM, syscall.SIGCHLD, syscall.SIGCONT, syscall.SIGTSTP,
		syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGWINCH, syscall.SIGABRT, syscall.SIGTRAP)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	buf := make([]byte, 0, 1024)
	for i := 0; ; {
		select {
		case sig := <-sigs:
			f, err := os.OpenFile(os.Args[1], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if err == nil {
				fmt.Fprintf(f, "SIGNAL %v after %d lines\n", sig, i)
				f.Close()
			}
			if sig == syscall.SIGTERM {
				os.Exit(0)
			}
		case <-tick.C:
			buf = buf[:0]
			for range 100 {
				buf = strconv.AppendInt(buf, int64(i), 10)
				buf = append(buf, '\n')
				i++
			}
			if _, err := os.Stdout.Write(buf); err != nil {
				os.Exit(1)
			}
		}
	}
}
