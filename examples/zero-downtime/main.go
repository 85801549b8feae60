// Command zero-downtime is the example server of examples/zero-downtime:
// a web server that takes its listening socket from zdaemon (systemd's
// socket activation: LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID), answers
// /health for the liveness check, and pings the watchdog (WATCHDOG=1 on
// $NOTIFY_SOCKET, every half period) while it is healthy.
//
//	go build -o examples/zero-downtime/server ./examples/zero-downtime
//	zdaemon -C examples/zero-downtime/job.hcl start
//
// Its standard library only: the protocol is a few environment variables
// and datagrams.
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	l, err := listener("web")
	if err != nil {
		log.Fatal(err)
	}
	notify := notifier()
	if d := watchdogPeriod(); d > 0 && notify != nil {
		go func() {
			for range time.Tick(d / 2) {
				notify("WATCHDOG=1")
			}
		}()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "hello from pid %d\n", os.Getpid())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		<-sig
		if notify != nil {
			notify("STOPPING=1")
		}
		_ = srv.Close() // the held socket stays open in zdaemon: clients queue
	}()
	if notify != nil {
		notify(fmt.Sprintf("STATUS=serving on %s", l.Addr()))
	}
	log.Printf("serving on %s", l.Addr())
	if err := srv.Serve(l); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

// listener is the socket named name that zdaemon passed, checked as
// sd_listen_fds(3) checks it: LISTEN_PID must be this process.
func listener(name string) (net.Listener, error) {
	if pid, _ := strconv.Atoi(os.Getenv("LISTEN_PID")); pid != os.Getpid() {
		return nil, fmt.Errorf("LISTEN_PID=%q is not this process (%d): run me under zdaemon with a listen block", os.Getenv("LISTEN_PID"), os.Getpid())
	}
	n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	for i, got := range strings.Split(os.Getenv("LISTEN_FDNAMES"), ":") {
		if i < n && got == name {
			return net.FileListener(os.NewFile(uintptr(3+i), name))
		}
	}
	return nil, fmt.Errorf("no listen socket named %q among %q", name, os.Getenv("LISTEN_FDNAMES"))
}

// watchdogPeriod is WATCHDOG_USEC when WATCHDOG_PID is this process.
func watchdogPeriod() time.Duration {
	if pid, _ := strconv.Atoi(os.Getenv("WATCHDOG_PID")); pid != os.Getpid() {
		return 0
	}
	us, _ := strconv.Atoi(os.Getenv("WATCHDOG_USEC"))
	return time.Duration(us) * time.Microsecond
}

// notifier sends sd_notify datagrams to $NOTIFY_SOCKET (nil without one).
func notifier() func(string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		log.Printf("notify socket: %v", err)
		return nil
	}
	return func(msg string) { _, _ = conn.Write([]byte(msg)) }
}
