// Command readyprog is a test program for health checks: after -delay it
// becomes ready (listens on -tcp, serves -http, listens on -unix, sends
// READY=1 to $NOTIFY_SOCKET with -notify), writes the time it became ready
// to -stamp, and then runs until killed.
//
// For liveness and the watchdog it writes, in -stamps, files named
// WHAT.PID holding a time (unix nanoseconds): "sick" when its /health
// starts to hang (-sick-after), "term" when SIGTERM came and "abrt" when
// SIGABRT came (it then exits 0 or 2, statuses that end a manager that
// takes them for the program's own), "ping" at its last WATCHDOG=1 (sent
// every quarter of $WATCHDOG_USEC for -watchdog-for; after that a child
// of it keeps sending them, which must count for nothing), and "pid" with
// "$WATCHDOG_PID PID".
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func main() {
	delay := flag.Duration("delay", 0, "time before becoming ready")
	tcp := flag.String("tcp", "", "listen on this TCP address")
	httpAddr := flag.String("http", "", "serve HTTP on this address (/health answers 200 ok)")
	unix := flag.String("unix", "", "listen on this unix socket")
	notify := flag.Bool("notify", false, "send READY=1 to $NOTIFY_SOCKET")
	stamp := flag.String("stamp", "", "write the ready time (unix nanoseconds) here")
	stamps := flag.String("stamps", "", "directory of the liveness and watchdog stamps")
	sickAfter := flag.Duration("sick-after", 0, "after this, /health hangs")
	watchdogFor := flag.Duration("watchdog-for", 0, "send WATCHDOG=1 for this long")
	status := flag.String("status", "", "send STATUS= with this text")
	pingLoop := flag.Bool("ping-loop", false, "only send WATCHDOG=1 every 50ms, until killed")
	flag.Parse()
	if *pingLoop {
		for {
			send("WATCHDOG=1")
			time.Sleep(50 * time.Millisecond)
		}
	}
	mark := func(what, text string) {
		if *stamps != "" {
			// Whole or not at all, for a reader that polls.
			name := fmt.Sprintf("%s/%s.%d", *stamps, what, os.Getpid())
			os.WriteFile(name+".tmp", []byte(text), 0o644)
			os.Rename(name+".tmp", name)
		}
	}
	now := func() string { return fmt.Sprint(time.Now().UnixNano()) }
	mark("pid", fmt.Sprintf("%s %d", os.Getenv("WATCHDOG_PID"), os.Getpid()))
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGABRT)
	go func() {
		sig := <-sigs
		if sig == syscall.SIGABRT {
			mark("abrt", now())
			os.Exit(2)
		}
		mark("term", now())
		os.Exit(0)
	}()
	if *status != "" {
		send("STATUS=" + *status)
	}
	time.Sleep(*delay)
	if *tcp != "" {
		l, err := net.Listen("tcp", *tcp)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	if *httpAddr != "" {
		l, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		up := time.Now()
		var sick sync.Once
		go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if *sickAfter > 0 && time.Since(up) > *sickAfter {
				sick.Do(func() { mark("sick", now()) })
				select {} // hangs, as a deadlocked server
			}
			if r.URL.Path == "/health" {
				fmt.Fprintln(w, "ok, all good")
				return
			}
			http.NotFound(w, r)
		}))
	}
	if *unix != "" {
		if _, err := net.Listen("unix", *unix); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if *stamp != "" {
		os.WriteFile(*stamp, []byte(fmt.Sprint(time.Now().UnixNano())), 0o644)
	}
	if *notify {
		c, err := net.Dial("unixgram", os.Getenv("NOTIFY_SOCKET"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "notify:", err)
			os.Exit(1)
		}
		c.Write([]byte("STATUS=up\nREADY=1\n"))
		c.Close()
	}
	if *watchdogFor > 0 {
		usec, _ := strconv.Atoi(os.Getenv("WATCHDOG_USEC"))
		every := time.Duration(usec) * time.Microsecond / 4
		for end := time.Now().Add(*watchdogFor); time.Now().Before(end); time.Sleep(every) {
			sent := now() // before: the manager's period starts after it
			send("WATCHDOG=1")
			mark("ping", sent)
		}
		exe, _ := os.Executable()
		if err := exec.Command(exe, "-ping-loop").Start(); err != nil {
			fmt.Fprintln(os.Stderr, "ping loop:", err)
		}
	}
	time.Sleep(1 << 62) // until killed
}

// send sends one datagram to $NOTIFY_SOCKET.
func send(text string) {
	c, err := net.Dial("unixgram", os.Getenv("NOTIFY_SOCKET"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "notify:", err)
		os.Exit(1)
	}
	c.Write([]byte(text))
	c.Close()
}
