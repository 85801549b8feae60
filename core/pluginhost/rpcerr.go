package pluginhost

import (
	"context"
	"errors"
	"fmt"

	"github.com/zdaemon/zdaemon/plugins/schema"
)

// CallError is a call to a plugin that failed, in plain words: the
// plugin's own message when it refused, or what became of the plugin,
// never gRPC's wording (the contract shims translate that, schema.FromRPC).
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

// callError names the plugin and the call around err.
func callError(plugin, call string, err error) error {
	if err == nil {
		return nil
	}
	reason := err.Error()
	var ce *schema.CallError
	switch {
	case errors.As(err, &ce):
		reason = ce.Msg
	case errors.Is(err, context.DeadlineExceeded):
		reason = "it did not answer in time"
	}
	return &CallError{Plugin: plugin, Call: call, Reason: reason, err: err}
}

// callEnded is callError for a call made with ctx: when ctx was cancelled
// before the plugin answered, the caller gave the call up, and the reason
// gives the cancellation's cause (gRPC reports it as the connection
// closing, which would read as a plugin gone). A deadline is "it did not
// answer in time", as callError says.
func callEnded(ctx context.Context, plugin, call string, err error) error {
	if err == nil || !errors.Is(ctx.Err(), context.Canceled) {
		return callError(plugin, call, err)
	}
	return &CallError{Plugin: plugin, Call: call, Reason: fmt.Sprintf("it had not answered when the call was given up (%v)", context.Cause(ctx)), err: err}
}
