// Package builtin holds zdaemon's built-in start-test probes, written as a
// third party would write them (each implements healthcheck.Checker; the
// zdaemon binary serves them with healthcheck.Serve):
//
//   - program: run a command until it exits 0 (the original's
//     start-test-program);
//   - tcp: connect to host:port;
//   - unix: connect to a unix socket;
//   - http: GET a URL, check the status and optionally the body;
//   - notify: the program says it is ready itself, sd_notify style, with a
//     "READY=1" datagram on $NOTIFY_SOCKET.
package builtin

import (
	"fmt"
	"math"

	"github.com/zdaemon/zdaemon/plugins/healthcheck"
)

// Checks are the built-in checks by kind.
var Checks = map[string]func() healthcheck.Checker{
	"program": func() healthcheck.Checker { return &Program{} },
	"tcp":     func() healthcheck.Checker { return &Dial{Network: "tcp"} },
	"unix":    func() healthcheck.Checker { return &Dial{Network: "unix"} },
	"http":    func() healthcheck.Checker { return &HTTP{} },
	"notify":  func() healthcheck.Checker { return &Notify{} },
}

func required(cfg healthcheck.Config, name string) []healthcheck.FieldError {
	if cfg.String(name, "") == "" {
		return []healthcheck.FieldError{{Field: name, Message: "must be set"}}
	}
	return nil
}

func wholeNumber(cfg healthcheck.Config, name string, lo, hi float64) []healthcheck.FieldError {
	v, ok := cfg[name].(float64)
	if !ok {
		return nil
	}
	if v < lo || v > hi || v != math.Trunc(v) {
		return []healthcheck.FieldError{{Field: name, Message: fmt.Sprintf("must be a whole number from %g to %g", lo, hi)}}
	}
	return nil
}

// validated runs validate and returns its first error.
func validated(errs []healthcheck.FieldError) error {
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}
