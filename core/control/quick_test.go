package control

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// quickEcho is echo as a QuickHandler: every command is quick but
// "wait", which blocks until its context ends (a held "await").
type quickEcho struct{ ended chan string }

func (q quickEcho) Quick(req Request) bool { return req.Name != "wait" }

func (q quickEcho) Serve(ctx context.Context, req Request) string {
	if req.Name == "wait" {
		<-ctx.Done()
		q.ended <- req.Line
		return ""
	}
	return echo.Serve(ctx, req)
}

// The accept loop answers quick requests itself; whatever the path (the
// line there at once, in pieces, or never), the replies are those of the
// goroutine path.
func TestQuickServerReplies(t *testing.T) {
	path := tempSock(t)
	serve(t, path, quickEcho{ended: make(chan string, 1)}, func(s *Server) { s.ReadTimeout = 2 * time.Second })
	tests := []struct {
		name   string
		pieces []string // written one after the other, then half-closed
		want   string
	}{
		{"status", []string{"status\n"}, "got status\n"},
		{"args", []string{"kill 9 x\n"}, "got kill|9|x\n"},
		{"no reply", []string{"quiet\n"}, ""},
		{"reply with newline", []string{"newline\n"}, "has newline\n"},
		{"empty", []string{"\n"}, ReplyEmpty + "\n"},
		{"in pieces", []string{"sta", "tus", "\n"}, "got status\n"},
		{"not terminated", []string{"status"}, ReplyNotTerminated + "\n"},
		{"too long", []string{strings.Repeat("x", MaxLine+1) + "\n"}, ReplyTooLong + "\n"},
		{"longest", []string{strings.Repeat("x", MaxLine) + "\n"}, "got " + strings.Repeat("x", MaxLine) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, path)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			for _, p := range tt.pieces {
				if _, err := c.Write([]byte(p)); err != nil {
					t.Fatal(err)
				}
			}
			c.CloseWrite()
			got, _ := io.ReadAll(c)
			if string(got) != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// A client that connects and says nothing does not hold up the accept
// loop: the next client's status is answered while it waits.
func TestQuickServerSilentClientHoldsNobody(t *testing.T) {
	path := tempSock(t)
	serve(t, path, quickEcho{ended: make(chan string, 1)}, nil) // 10 s read timeout
	silent := dial(t, path)
	silent.Write([]byte("sta")) // and nothing more
	start := time.Now()
	if got := do(t, path, "status"); got != "got status\n" {
		t.Fatalf("got %q", got)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("status took %v behind a silent client", took)
	}
}

// A request that is not quick is held by a goroutine, and its client
// hanging up still ends it.
func TestQuickServerHeldRequestSeesHangup(t *testing.T) {
	path := tempSock(t)
	q := quickEcho{ended: make(chan string, 1)}
	serve(t, path, q, nil)
	c := dial(t, path)
	c.Write([]byte("wait gone\n"))
	c.CloseWrite()
	// Served meanwhile: the held one is not on the accept loop.
	if got := do(t, path, "status"); got != "got status\n" {
		t.Fatalf("got %q", got)
	}
	c.Close()
	select {
	case line := <-q.ended:
		if line != "wait gone" {
			t.Fatalf("ended %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the held handler of a client that hung up still runs")
	}
}

// A request that arrives a moment after its connection (the accept loop
// was quicker than the client's write) is still answered by the accept
// loop, not handed to a goroutine.
func TestQuickServerWaitsForALateLine(t *testing.T) {
	path := tempSock(t)
	s := serve(t, path, quickEcho{ended: make(chan string, 1)}, nil)
	for range 3 {
		c := dial(t, path)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		// The connection is accepted (and finds nothing to read) before
		// the line is written: a status on another connection is
		// answered after this one was accepted.
		if got := do(t, path, "status"); got != "got status\n" {
			t.Fatalf("got %q", got)
		}
		c.Write([]byte("status\n"))
		c.CloseWrite()
		got, _ := io.ReadAll(c)
		c.Close()
		if string(got) != "got status\n" {
			t.Fatalf("late line: got %q", got)
		}
	}
	if n := s.handedOver.Load(); n != 0 {
		t.Fatalf("%d connections handed to goroutines, want none", n)
	}
}

// lookAwakeFor makes the accept loops of servers started after it look
// for their next connection for d after each answer (restored at cleanup,
// after those servers have stopped: call it before serve).
func lookAwakeFor(t *testing.T, d time.Duration) {
	t.Helper()
	old := spinFor
	spinFor = func() time.Duration { return d }
	t.Cleanup(func() { spinFor = old })
}

// After an answer the accept loop looks for the next connection awake:
// a client asking in a loop is answered without the loop going back to
// sleep, with the replies of the goroutine path.
func TestQuickServerLooksAwakeForTheNextClient(t *testing.T) {
	lookAwakeFor(t, time.Minute) // every next client comes within it
	path := tempSock(t)
	s := serve(t, path, quickEcho{ended: make(chan string, 1)}, nil)
	const clients = 5
	for i := range clients {
		if got := do(t, path, fmt.Sprintf("status %d", i)); got != fmt.Sprintf("got status|%d\n", i) {
			t.Fatalf("client %d: got %q", i, got)
		}
	}
	if n := s.foundAwake.Load(); n != clients-1 {
		t.Fatalf("%d connections found looking awake, want %d (all but the first)", n, clients-1)
	}
	if n := s.handedOver.Load(); n != 0 {
		t.Fatalf("%d connections handed to goroutines, want none", n)
	}
}

// Looking awake never holds up Pause (an upgrade) or Close (the end),
// however long it would go on.
func TestQuickServerLookEndsAtPauseAndClose(t *testing.T) {
	for _, end := range []string{"pause", "close"} {
		t.Run(end, func(t *testing.T) {
			lookAwakeFor(t, time.Hour)
			path := tempSock(t)
			s, err := Listen(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			served, done := make(chan error, 1), make(chan struct{})
			go func() {
				defer close(done)
				served <- s.Serve(context.Background(), quickEcho{ended: make(chan string, 1)})
			}()
			t.Cleanup(func() { // after a failure too, before spinFor is restored
				s.Close()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Error("Serve did not return after Close")
				}
			})
			if got := do(t, path, "status"); got != "got status\n" {
				t.Fatalf("got %q", got)
			}
			// The loop looks for the next connection now.
			ended := make(chan struct{})
			go func() {
				if end == "pause" {
					s.Pause()
				}
				s.Close()
				close(ended)
			}()
			select {
			case <-ended:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s still waits for the accept loop", end)
			}
			select {
			case err := <-served:
				if err != nil {
					t.Fatalf("Serve: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("Serve still runs after %s", end)
			}
		})
	}
}

// The listening socket is in no epoll set but the accept loop's (as its
// duplicate): in Go's poller, every connection would wake a thread of the
// runtime's for nothing.
func TestListenerStaysOutOfGosPoller(t *testing.T) {
	path := tempSock(t)
	s := serve(t, path, echo, nil)
	if got := do(t, path, "x"); got != "got x\n" { // the loop runs
		t.Fatalf("got %q", got)
	}
	s.mu.Lock()
	lfd, afd := s.lfd, s.acceptFd
	s.mu.Unlock()
	if afd < 0 {
		t.Fatal("no accept loop")
	}
	withAccept := 0
	for ep, watched := range epollSets(t) {
		if watched[lfd] {
			t.Errorf("epoll set %d watches the listening socket (fd %d)", ep, lfd)
		}
		if watched[afd] {
			withAccept++
		}
	}
	if withAccept != 1 {
		t.Errorf("%d epoll sets watch the accept loop's descriptor, want its own only", withAccept)
	}
}

// epollSets maps each epoll descriptor of this process to the descriptors
// it watches (from /proc/self/fdinfo).
func epollSets(t *testing.T) map[int]map[int]bool {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	sets := map[int]map[int]bool{}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if link, _ := os.Readlink("/proc/self/fd/" + e.Name()); link != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue // closed meanwhile
		}
		watched := map[int]bool{}
		for _, line := range strings.Split(string(info), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "tfd:" {
				if n, err := strconv.Atoi(f[1]); err == nil {
					watched[n] = true
				}
			}
		}
		sets[fd] = watched
	}
	return sets
}
