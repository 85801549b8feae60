// Command readyprog is a test program for health checks: after -delay it
// becomes ready (listens on -tcp, serves -http, listens on -unix, sends
// READY=1 to $NOTIFY_SOCKET with -notify), writes the time it became ready
// to -stamp, and then runs until killed.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	delay := flag.Duration("delay", 0, "time before becoming ready")
	tcp := flag.String("tcp", "", "listen on this TCP address")
	httpAddr := flag.String("http", "", "serve HTTP on this address (/health answers 200 ok)")
	unix := flag.String("unix", "", "listen on this unix socket")
	notify := flag.Bool("notify", false, "send READY=1 to $NOTIFY_SOCKET")
	stamp := flag.String("stamp", "", "write the ready time (unix nanoseconds) here")
	flag.Parse()
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
		go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	time.Sleep(1 << 62) // until killed
}
