// Command listenprog is the test server of the listen-socket tests: it
// takes its listening socket from zdaemon as systemd's socket activation
// passes it (descriptor 3, LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID), and
// refuses loudly (exit 3) when LISTEN_PID is not its own pid. It answers
// each connection with one line, "pid N", one at a time; on its stop
// signal it stops accepting (the connections it has accepted are answered
// first) and exits 0. It appends what happens to -log, one line each with
// its own clock: "start PID NS", "signal NAME NS", "reloading NS",
// "ready NS". SIGUSR1 makes it crash at a safe point: it stops accepting,
// answers what it accepted, and exits with status 1. On SIGHUP it counts the signal and, with -notify, says
// RELOADING=1, waits -reload, and says READY=1 (systemd's notify-reload
// protocol); with -notify it also says READY=1 once it serves.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

var logFile *os.File

func logf(format string, args ...any) {
	if logFile != nil {
		fmt.Fprintf(logFile, format+" %d\n", append(args, time.Now().UnixNano())...)
	}
}

func notify(state string) {
	c, err := net.Dial("unixgram", os.Getenv("NOTIFY_SOCKET"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "listenprog: notify:", err)
		os.Exit(1)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state + "\n")); err != nil {
		fmt.Fprintln(os.Stderr, "listenprog: notify:", err)
		os.Exit(1)
	}
}

func main() {
	var logPath string
	withNotify := false
	reloadDelay := 50 * time.Millisecond
	for i := 1; i < len(os.Args); i++ {
		switch os.Args[i] {
		case "-log":
			i++
			logPath = os.Args[i]
		case "-notify":
			withNotify = true
		case "-reload":
			i++
			reloadDelay, _ = time.ParseDuration(os.Args[i])
		}
	}
	if logPath != "" {
		f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "listenprog:", err)
			os.Exit(1)
		}
		logFile = f
	}
	pid := os.Getpid()
	if got := os.Getenv("LISTEN_PID"); got != strconv.Itoa(pid) {
		fmt.Fprintf(os.Stderr, "listenprog: LISTEN_PID is %q, but my pid is %d: refusing the sockets\n", got, pid)
		logf("bad-listen-pid %s", got)
		os.Exit(3)
	}
	if os.Getenv("LISTEN_FDS") != "1" || os.Getenv("LISTEN_FDNAMES") != "web" {
		fmt.Fprintf(os.Stderr, "listenprog: LISTEN_FDS=%q LISTEN_FDNAMES=%q, want 1 and web\n", os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES"))
		os.Exit(3)
	}
	l, err := net.FileListener(os.NewFile(3, "web"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "listenprog: descriptor 3:", err)
		os.Exit(3)
	}
	logf("start %d", pid)
	sigc := make(chan os.Signal, 8)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
	var crash atomic.Bool
	go func() {
		hups := 0
		for sig := range sigc {
			name := strings.ToUpper(sig.String())
			if s, ok := sig.(syscall.Signal); ok {
				name = sigName(s)
			}
			logf("signal %s", name)
			if sig == syscall.SIGUSR1 {
				crash.Store(true)
			}
			if sig != syscall.SIGHUP {
				l.Close() // stop accepting; the manager still holds the socket
				continue
			}
			hups++
			logf("hups %d", hups)
			if withNotify {
				logf("reloading")
				notify("RELOADING=1")
				time.Sleep(reloadDelay) // the "reload" itself
				logf("ready")
				notify("READY=1")
			}
		}
	}()
	if withNotify {
		notify("READY=1")
	}
	reply := []byte(fmt.Sprintf("pid %d\n", pid))
	for {
		c, err := l.Accept()
		if err != nil {
			if crash.Load() {
				logf("crash %d", pid)
				os.Exit(1)
			}
			logf("exit %d", pid)
			os.Exit(0)
		}
		_, _ = c.Write(reply)
		c.Close()
	}
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGUSR1:
		return "SIGUSR1"
	}
	return "signal " + strconv.Itoa(int(s))
}
