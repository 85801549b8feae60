package schema

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A call's context ends when the plugin's process does, and not after the
// call has finished.
func TestWithDone(t *testing.T) {
	done, exit := context.WithCancel(context.Background())
	ctx, cancel := WithDone(context.Background(), done)
	defer cancel()
	exit()
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), ErrPluginExited) {
		t.Fatalf("cause %v", context.Cause(ctx))
	}

	done2, exit2 := context.WithCancel(context.Background())
	ctx2, cancel2 := WithDone(context.Background(), done2)
	cancel2()
	exit2()
	if !errors.Is(context.Cause(ctx2), context.Canceled) {
		t.Fatalf("cause after the call %v", context.Cause(ctx2))
	}

	base := context.Background()
	if ctx3, cancel3 := WithDone(base, nil); ctx3 != base {
		t.Fatal("a nil done context changed the call's")
	} else {
		cancel3()
	}
}

// FromRPC leaves no gRPC wording.
func TestFromRPC(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{status.Error(codes.Unavailable, "connection error: desc = \"transport: EOF\""), "it went away (it crashed or closed the connection)"},
		{status.Error(codes.Canceled, "context canceled"), "it went away (it crashed or closed the connection)"},
		{status.Error(codes.DeadlineExceeded, "context deadline exceeded"), "it did not answer in time"},
		{status.Error(codes.Unimplemented, "unknown service zdaemon.schema.v1.Base"), "it does not implement that call"},
		{status.Error(codes.Unknown, "open out.log: permission denied"), "open out.log: permission denied"},
	}
	for _, tt := range tests {
		if got := FromRPC(tt.err).Error(); got != tt.want {
			t.Errorf("FromRPC(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
