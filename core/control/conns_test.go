package control

import (
	"context"
	"errors"
	"github.com/zdaemon/zdaemon/core/controlproto"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// blocking answers "status" at once and blocks every other command until
// its context ends, counting the blocked ones.
type blocking struct {
	blocked atomic.Int32
	ended   chan string // the line of each handler whose context ended
}

func newBlocking() *blocking { return &blocking{ended: make(chan string, 1024)} }

func (b *blocking) Serve(ctx context.Context, req Request) string {
	if req.Name == "status" {
		return "ok"
	}
	b.blocked.Add(1)
	<-ctx.Done()
	b.blocked.Add(-1) // before ended: a test that got ended counts it gone
	b.ended <- req.Line
	return ""
}

// waitFor polls cond (another goroutine's progress) for at most 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func dial(t *testing.T, path string) *net.UnixConn {
	t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A client that hangs up while its command waits ends that handler's
// context; one that only half-closes (our client, after its line) or
// keeps its connection open (the original's zdctl) does not.
func TestServerHangupEndsHandler(t *testing.T) {
	path := tempSock(t)
	b := newBlocking()
	serve(t, path, b, nil)

	halfClosed := dial(t, path)
	halfClosed.Write([]byte("wait half-closed\n"))
	halfClosed.CloseWrite()
	open := dial(t, path)
	open.Write([]byte("wait open\n"))
	waitFor(t, "two blocked handlers", func() bool { return b.blocked.Load() == 2 })

	gone := dial(t, path)
	gone.Write([]byte("wait gone\n"))
	gone.CloseWrite()
	waitFor(t, "three blocked handlers", func() bool { return b.blocked.Load() == 3 })
	gone.Close()
	select {
	case line := <-b.ended:
		if line != "wait gone" {
			t.Fatalf("the handler of %q ended, want that of the client that hung up", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler of a client that hung up still runs")
	}
	if n := b.blocked.Load(); n != 2 {
		t.Fatalf("%d handlers blocked, want the other 2", n)
	}
	select {
	case line := <-b.ended:
		t.Fatalf("the handler of %q ended too", line)
	default:
	}
}

// 256 clients (the bound) that send "await down", half-close and go away
// (zdaemon wait interrupted by Ctrl-C) leave nothing behind: every handler
// ends, and the server serves the next client.
func TestServerInterruptedWaitsLeaveNothing(t *testing.T) {
	path := tempSock(t)
	b := newBlocking()
	serve(t, path, b, nil)
	for range DefaultMaxConns {
		c := dial(t, path)
		c.Write([]byte("await down\n"))
		c.CloseWrite()
		c.Close()
	}
	for i := range DefaultMaxConns {
		select {
		case <-b.ended:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d handlers ended", i, DefaultMaxConns)
		}
	}
	if got := do(t, path, "status"); got != "ok\n" {
		t.Fatalf("status: %q", got)
	}
}

// More silent connections than the bound: the oldest are closed to make
// room, and a client that speaks is served.
func TestServerEvictsSilentConnections(t *testing.T) {
	path := tempSock(t)
	serve(t, path, newBlocking(), func(s *Server) { s.MaxConns = 8 })
	var silent []*net.UnixConn
	for range 20 {
		silent = append(silent, dial(t, path))
	}
	start := time.Now()
	if got := do(t, path, "status"); got != "ok\n" {
		t.Fatalf("status: %q", got)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("status took %v", took)
	}
	// The first ones were closed (end of file, no reply); the newest are
	// still held.
	silent[0].SetReadDeadline(time.Now().Add(10 * time.Second))
	if got, err := io.ReadAll(silent[0]); err != nil || len(got) != 0 {
		t.Fatalf("oldest silent connection: %q, %v; want it closed", got, err)
	}
	silent[19].SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := silent[19].Read(make([]byte, 1)); !errors.Is(err, syscall.EAGAIN) && !isTimeout(err) {
		t.Fatalf("newest silent connection: %v; want it still held", err)
	}
	// Never more than the bound held, the status client included.
	held := 0
	for _, c := range silent {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); isTimeout(err) {
			held++
		}
	}
	if held > 7 {
		t.Fatalf("%d silent connections held beside a client, bound 8", held)
	}
}

// When every held connection waits for an answer, a new one is closed
// unread (its client sees a reset), and none of the waiting ones is lost.
func TestServerRefusesBeyondBoundOfWaiters(t *testing.T) {
	path := tempSock(t)
	b := newBlocking()
	serve(t, path, b, func(s *Server) { s.MaxConns = 3 })
	for range 3 {
		c := dial(t, path)
		c.Write([]byte("wait\n"))
		c.CloseWrite()
	}
	waitFor(t, "three blocked handlers", func() bool { return b.blocked.Load() == 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := controlproto.Do(ctx, path, "status")
	if !errors.Is(err, controlproto.ErrNoAnswer) || errors.Is(err, controlproto.ErrNoManager) {
		t.Fatalf("status beyond the bound: %v, want ErrNoAnswer", err)
	}
	if n := b.blocked.Load(); n != 3 {
		t.Fatalf("%d handlers blocked, want 3", n)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
