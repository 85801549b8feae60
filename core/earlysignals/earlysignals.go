// Package earlysignals subscribes a manager that a previous one
// re-executed in place (zdrun or zdrun-plugins --upgraded) to its shutdown signals as early
// as a Go program can: in a package init that depends on nothing but
// os/signal, so it runs before the heavier packages' (gRPC, protobuf).
// Across the execve those signals are ignored (the old manager sets them
// so); from the moment the Go runtime installs its handlers until someone
// subscribes, a SIGTERM would end the new manager, and with it, by its
// death signal, the program. Signals that arrive from here on wait in C.
package earlysignals

import (
	"os"
	"os/signal"
	"syscall"
)

// C receives SIGTERM, SIGINT and SIGHUP of an upgraded manager; nil in
// any other process.
var C chan os.Signal

func init() {
	if len(os.Args) == 3 && os.Args[1] == "--upgraded" {
		C = make(chan os.Signal, 4)
		signal.Notify(C, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	}
}
