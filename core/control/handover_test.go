package control

import (
	"context"
	"os"
	"testing"
	"time"
)

// A paused server accepts nothing, and clients wait in the socket's
// backlog (never "nobody listens"); whoever serves the socket next (this
// server again, or a server adopting its descriptor, as the next manager
// does) answers them, and Conn gives a handler its connection.
func TestPauseAndAdopt(t *testing.T) {
	path := tempSock(t)
	s := serve(t, path, echo, nil)
	if got := do(t, path, "one"); got != "got one\n" {
		t.Fatalf("before the pause: %q", got)
	}
	s.Pause()
	replies := make(chan string, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r, err := Do(ctx, path, "waiting")
		if err != nil {
			r = "error: " + err.Error()
		}
		replies <- r
	}()
	select {
	case r := <-replies:
		t.Fatalf("a paused server answered %q", r)
	case <-time.After(200 * time.Millisecond):
	}

	f, h, err := s.File()
	if err != nil {
		t.Fatal(err)
	}
	if h.Path != path || h.Ino == 0 {
		t.Fatalf("hand-over %+v", h)
	}
	next, err := Adopt(f, h)
	if err != nil {
		t.Fatal(err)
	}
	if !next.Owns() {
		t.Fatal("the adopted server does not own its socket file")
	}
	sawConn := make(chan bool, 1)
	h2 := HandlerFunc(func(ctx context.Context, req Request) string {
		select {
		case sawConn <- Conn(ctx) != nil:
		default:
		}
		return echo(ctx, req)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = next.Serve(ctx, h2)
	}()
	defer func() { cancel(); <-done; os.Remove(path) }()
	select {
	case r := <-replies:
		if r != "got waiting\n" {
			t.Fatalf("the waiting client got %q", r)
		}
		if !<-sawConn {
			t.Error("the handler was not given its connection")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the adopted server did not answer the waiting client")
	}
	s.Resume()
}
