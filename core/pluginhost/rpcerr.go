package pluginhost

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// CallError is a call to a plugin that failed, in plain words: the
// plugin's own message when it refused, or what became of the plugin,
// never gRPC's wording.
type CallError struct {
	// Plugin names the plugin (its path, or "built-in transcript file").
	Plugin string
	// Call is what was asked ("describe its configuration").
	Call string
	// Reason says what happened.
	Reason string
	err    error
}

func (e *CallError) Error() string {
	return fmt.Sprintf("plugin %s failed to %s: %s", e.Plugin, e.Call, e.Reason)
}

func (e *CallError) Unwrap() error { return e.err }

// callError translates err of a call to a plugin.
func callError(plugin, call string, err error) error {
	if err == nil {
		return nil
	}
	reason := err.Error()
	var se interface{ GRPCStatus() *status.Status }
	switch {
	case errors.As(err, &se) && se.GRPCStatus() != nil:
		st := se.GRPCStatus()
		switch st.Code() {
		case codes.Unavailable, codes.Canceled:
			reason = "it went away (it crashed or closed the connection)"
		case codes.DeadlineExceeded:
			reason = "it did not answer in time"
		case codes.Unimplemented:
			reason = "it does not implement that call"
		default:
			reason = st.Message() // the plugin's own words
		}
	case errors.Is(err, context.DeadlineExceeded):
		reason = "it did not answer in time"
	}
	return &CallError{Plugin: plugin, Call: call, Reason: reason, err: err}
}
