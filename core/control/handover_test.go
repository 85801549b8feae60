package control

import (
	"context"
	"github.com/zdaemon/zdaemon/core/controlproto"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
		r, err := controlproto.Do(ctx, path, "waiting")
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

// Quiesce, after Pause, waits for the requests already accepted: a slow
// one is answered first; one waiting in await does not hold it up (it is
// handed over); a client that connected and said nothing does, until the
// deadline, and is counted.
func TestQuiesce(t *testing.T) {
	release := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, req Request) string {
		switch req.Name {
		case "slow":
			select {
			case <-release:
				return "slow done"
			case <-ctx.Done():
				return ""
			}
		case "await":
			<-ctx.Done()
			return ""
		}
		return "ok"
	})
	path := tempSock(t)
	s := serve(t, path, h, nil)
	dial := func(line string) net.Conn {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if line != "" {
			if _, err := io.WriteString(c, line+"\n"); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
	// Both are being served before the pause: the slow one blocks in its
	// handler, the await waits (and is not counted).
	slow := dial("slow")
	eventuallyActive(t, s, 1)
	dial("await")
	eventuallyParked(t, s, 1)
	eventuallyActive(t, s, 1)
	s.Pause()
	done := make(chan int, 1)
	go func() { done <- s.Quiesce(context.Background(), nil) }()
	select {
	case n := <-done:
		t.Fatalf("Quiesce returned %d while the slow request was being served", n)
	case <-time.After(100 * time.Millisecond): // a negative check
	}
	close(release)
	select {
	case n := <-done:
		if n != 0 {
			t.Fatalf("Quiesce: %d still served", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Quiesce did not return once the slow request was answered")
	}
	if b, _ := io.ReadAll(slow); string(b) != "slow done\n" {
		t.Errorf("the slow request got %q", b)
	}
	s.Resume()
	go func() { _ = s.Serve(context.Background(), h) }()
	silent := dial("")
	_ = silent
	eventuallyActive(t, s, 1)
	s.Pause()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if n := s.Quiesce(ctx, nil); n != 1 {
		t.Errorf("Quiesce with a silent client: %d still served, want 1", n)
	}
}

// eventuallyParked waits until n connections wait in await.
func eventuallyParked(t *testing.T, s *Server, n int) {
	t.Helper()
	eventuallyCount(t, s, "parked", n, func() int { return s.held - len(s.active) })
}

// eventuallyActive waits until n connections are being served (not in
// await).
func eventuallyActive(t *testing.T, s *Server, n int) {
	t.Helper()
	eventuallyCount(t, s, "served", n, func() int { return len(s.active) })
}

// eventuallyCount waits (at most 10 s) until count, read under s.mu, is n.
func eventuallyCount(t *testing.T, s *Server, what string, n int, count func() int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		got := count()
		s.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections %s, want %d", got, what, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Adopt takes only a listening unix stream socket, and says what else it
// was handed.
func TestAdoptRefusesOtherDescriptors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		file func(t *testing.T) *os.File
		want string
	}{
		{"regular file", func(t *testing.T) *os.File {
			f, err := os.Create(filepath.Join(dir, "plain"))
			if err != nil {
				t.Fatal(err)
			}
			return f
		}, "not a unix socket"},
		{"datagram socket", func(t *testing.T) *os.File {
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			return os.NewFile(uintptr(fd), "dgram")
		}, "not a stream socket"},
		{"connected stream socket", func(t *testing.T) *os.File {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			unix.Close(fds[1])
			return os.NewFile(uintptr(fds[0]), "pair")
		}, "not a listening socket"},
		{"TCP listener", func(t *testing.T) *os.File {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			f, err := l.(*net.TCPListener).File()
			if err != nil {
				t.Fatal(err)
			}
			return f
		}, "not a unix socket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Adopt(tt.file(t), Handover{Path: filepath.Join(dir, "sock")})
			if err == nil {
				s.Close()
				t.Fatal("adopted")
			}
			if want := "adopt the control socket: " + tt.want; err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
		})
	}
}
