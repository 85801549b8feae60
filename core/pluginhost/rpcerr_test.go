package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/zdaemon/zdaemon/plugins/schema"
)

func TestCallErrorIsPlainWords(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		// What the contract shims return (schema.FromRPC of the gRPC error).
		{fmt.Errorf("sink schema: %w", schema.FromRPC(status.Error(codes.Unavailable, "connection error: desc = \"transport: EOF\""))), "it went away (it crashed or closed the connection)"},
		{fmt.Errorf("sink start: %w", schema.FromRPC(status.Error(codes.Unknown, "open transcript: permission denied"))), "open transcript: permission denied"},
		{schema.FromRPC(status.Error(codes.DeadlineExceeded, "context deadline exceeded")), "it did not answer in time"},
		{schema.FromRPC(status.Error(codes.Unimplemented, "unknown method Drain")), "it does not implement that call"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "it did not answer in time"},
		{errors.New("plain"), "plain"},
	}
	for _, tt := range tests {
		err := callError("/bin/p", "describe its configuration", tt.err)
		want := "plugin /bin/p failed to describe its configuration: " + tt.want
		if err.Error() != want {
			t.Errorf("%v: %q, want %q", tt.err, err, want)
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("%v: not wrapped", tt.err)
		}
	}
}
