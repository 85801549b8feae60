package control

import (
	"context"
	"fmt"
	"github.com/zdaemon/zdaemon/core/controlproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// boardStatuses are the shapes a status takes: running, stopped, in
// back-off, under start tests, with quoting in its words.
var boardStatuses = []controlproto.Status{
	{Running: true, ShouldBeUp: true, LastTime: time.Unix(1795485107, 0), Application: 6521, Manager: 6518,
		BackoffLimit: 10, Filename: "/usr/bin/sleep", Args: []string{"sleep", "100"}},
	{Manager: 6518, BackoffLimit: 10, Filename: "/usr/bin/sleep", Args: []string{"sleep", "100"}},
	{ShouldBeUp: true, Delay: time.UnixMicro(1795485112500001), Backoff: 3, LastTime: time.UnixMicro(1795485109811874),
		Manager: 6518, BackoffLimit: 7, Filename: "/bin/sh", Args: []string{"sh", "-c", "exit 1"}},
	{Running: true, ShouldBeUp: true, Testing: true, Application: 77, Manager: 1, BackoffLimit: 1,
		Filename: "/srv/it's \"here\"", Args: []string{"it's", `a\b`, "ünï"}},
}

// A published status is answered byte for byte as Format renders it, at
// the time of each request; nothing published yet leaves the answer to
// the owner, and a retired board answers nothing.
func TestBoardReplyIsFormat(t *testing.T) {
	var b Board
	if _, ok := b.Reply(time.Now()); ok {
		t.Fatal("an empty board answered")
	}
	for i, s := range boardStatuses {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			b.Publish(s)
			for _, now := range []time.Time{time.UnixMicro(1795485109811874), time.Unix(1795485110, 0), time.UnixMicro(1795485110000010)} {
				s.Now = now
				want := s.Format()
				got, ok := b.Reply(now)
				if !ok || got != want {
					t.Fatalf("Reply: %q, %v\nwant %q", got, ok, want)
				}
				app, ok := b.AppendReply([]byte("x"), now)
				if !ok || string(app) != "x"+want {
					t.Fatalf("AppendReply: %q, %v", app, ok)
				}
			}
		})
	}
	b.Retire()
	if got, ok := b.Reply(time.Now()); !ok || got != "" {
		t.Fatalf("retired board: %q, %v", got, ok)
	}
	if got, ok := b.AppendReply([]byte("x"), time.Now()); !ok || string(got) != "x" {
		t.Fatalf("retired board appended %q, %v", got, ok)
	}
}

// boardHandler answers "status" from a Board on the accept loop, as the
// manager does (AppendQuick; Serve when asked through a goroutine).
type boardHandler struct{ b *Board }

func (h boardHandler) Quick(Request) bool { return true }

func (h boardHandler) AppendQuick(dst []byte, req Request) ([]byte, bool) {
	if req.Name != "status" {
		return dst, false
	}
	return h.b.AppendReply(dst, time.Now())
}

func (h boardHandler) Serve(_ context.Context, req Request) string {
	if req.Name != "status" {
		return controlproto.ReplyUnknown(req.Name)
	}
	reply, _ := h.b.Reply(time.Now())
	return reply
}

// Status requests from many clients while the state changes under them
// (run with -race): every reply is whole and is one of the published
// states, rendered at its own now=.
func TestBoardConcurrentStatus(t *testing.T) {
	path := tempSock(t)
	b := new(Board)
	b.Publish(boardStatuses[0])
	serve(t, path, boardHandler{b}, nil)
	// Every valid reply, but for its now= line.
	valid := map[string]bool{}
	for _, s := range boardStatuses {
		valid[withoutNow(s.Format())] = true
	}
	stop := make(chan struct{})
	var published atomic.Int64
	var pub sync.WaitGroup
	pub.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			b.Publish(boardStatuses[i%len(boardStatuses)])
			published.Add(1)
		}
	})
	var clients sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		clients.Go(func() {
			for range 100 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				reply, err := controlproto.Do(ctx, path, "status")
				cancel()
				if err != nil {
					errs <- err
					return
				}
				if !valid[withoutNow(reply)] {
					errs <- fmt.Errorf("reply is no published state:\n%s", reply)
					return
				}
				if st, _ := controlproto.ParseStatus(reply); time.Since(st.Now).Abs() > time.Minute {
					errs <- fmt.Errorf("reply not rendered at its own time:\n%s", reply)
					return
				}
			}
		})
	}
	clients.Wait()
	close(stop)
	pub.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if published.Load() < 2 {
		t.Fatalf("the state changed %d times while the clients asked", published.Load())
	}
}

// BenchmarkQuickStatus is control round trips answered from a Board, the
// way rt-client.c drives a manager: connect, "status\n", half-close, read
// to the end, close.
func BenchmarkQuickStatus(b *testing.B) {
	dir := b.TempDir()
	path := dir + "/s"
	if len(path) > MaxSocketPath-8 {
		b.Skip("temporary directory too long for a socket")
	}
	s, err := Listen(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	board := new(Board)
	board.Publish(boardStatuses[0])
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, boardHandler{board}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	sa := &unix.SockaddrUnix{Name: path}
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := unix.Connect(fd, sa); err != nil {
			b.Fatal(err)
		}
		if _, err := unix.Write(fd, []byte("status\n")); err != nil {
			b.Fatal(err)
		}
		_ = unix.Shutdown(fd, unix.SHUT_WR)
		n := 0
		for {
			r, err := unix.Read(fd, buf)
			if err != nil || r <= 0 {
				break
			}
			n += r
		}
		unix.Close(fd)
		if n == 0 {
			b.Fatal("no reply")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
	b.ReportMetric(float64(s.handedOver.Load())/float64(b.N), "handovers/op")
}

// withoutNow is a status reply without its now= line.
func withoutNow(reply string) string {
	lines := strings.SplitAfter(reply, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(l, "now=") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "")
}
