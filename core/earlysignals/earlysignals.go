// Package earlysignals subscribes a manager to its shutdown signals as
// early as a Go program can: in a package init that depends on nothing but
// os/signal, so it runs before the heavier packages' (gRPC, protobuf).
//
// A manager that a previous one re-executed in place (zdrun or
// zdrun-plugins --upgraded) subscribes at once: across the execve those
// signals are ignored (the old manager sets them so); from the moment the
// Go runtime installs its handlers until someone subscribes, a SIGTERM
// would end the new manager, and with it, by its death signal, the
// program. Signals that arrive from here on wait in C.
//
// A manager a client starts (--handoff, --attached) subscribes on a
// goroutine of its own: the first subscription costs about 0.3 ms (the
// runtime starts a thread that keeps the signal mask and waits for it
// once per signal), which then overlaps reading the job instead of
// delaying the program's start. The supervisor subscribes C to the same
// signals again before it starts the program, so they are subscribed by
// then whichever of the two runs first.
package earlysignals

import (
	"os"
	"os/signal"
	"syscall"
)

// C receives SIGTERM, SIGINT and SIGHUP of a manager; nil in any other
// process.
var C chan os.Signal

// Shutdown are the signals that shut a manager down.
var Shutdown = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP}

func init() {
	switch {
	case len(os.Args) == 3 && os.Args[1] == "--upgraded":
		C = make(chan os.Signal, 4)
		signal.Notify(C, Shutdown...)
	case len(os.Args) == 2 && (os.Args[1] == "--handoff" || os.Args[1] == "--attached"):
		C = make(chan os.Signal, 4)
		go signal.Notify(C, Shutdown...)
	}
}
