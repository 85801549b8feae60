package control

import (
	"context"
	"errors"
	"fmt"
	"github.com/zdaemon/zdaemon/core/controlproto"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

// TestMain also lets the test binary act as a control client, so that a
// test can connect as another user.
func TestMain(m *testing.M) {
	if path := os.Getenv("ZD_CONTROL_CLIENT"); path != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		reply, err := controlproto.Do(ctx, path, "status")
		if err != nil {
			fmt.Print("error: ", err)
			os.Exit(1)
		}
		fmt.Print(reply)
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

func TestReadRequest(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  Request
		err   string
	}{
		{"status", "status\n", Request{Line: "status", Name: "status", Args: []string{}}, ""},
		{"args", "kill  9\n", Request{Line: "kill  9", Name: "kill", Args: []string{"9"}}, ""},
		{"extra lines ignored", "stop\nstart\n", Request{Line: "stop", Name: "stop", Args: []string{}}, ""},
		{"empty", "\n", Request{}, ReplyEmpty},
		{"blanks", "  \t \n", Request{}, ReplyEmpty},
		{"no newline", "status", Request{}, ReplyNotTerminated},
		{"nothing", "", Request{}, ReplyNotTerminated},
		{"exactly 10000", strings.Repeat("x", 10000) + "\n", Request{Line: strings.Repeat("x", 10000), Name: strings.Repeat("x", 10000), Args: []string{}}, ""},
		{"10001 then newline", strings.Repeat("x", 10001) + "\n", Request{}, ReplyTooLong},
		{"10001 no newline", strings.Repeat("x", 10001), Request{}, ReplyTooLong},
		{"binary", "\xff\x00\x01 z\n", Request{Line: "\xff\x00\x01 z", Name: "\xff\x00\x01", Args: []string{"z"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A reader that returns one byte at a time exercises the
			// accumulation as well.
			for _, r := range []io.Reader{strings.NewReader(tt.input), &oneByte{s: tt.input}} {
				got, errReply := ReadRequest(r)
				if errReply != tt.err {
					t.Fatalf("error reply %q, want %q", errReply, tt.err)
				}
				if tt.err != "" {
					continue
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("(-want +got)\n%s", diff)
				}
			}
		})
	}
}

type oneByte struct {
	s string
	i int
}

func (o *oneByte) Read(p []byte) (int, error) {
	if o.i >= len(o.s) {
		return 0, io.EOF
	}
	p[0] = o.s[o.i]
	o.i++
	return 1, nil
}

func tempSock(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "zd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "sock")
}

// serve starts a server with h and returns it; it is shut down at cleanup.
func serve(t *testing.T, path string, h Handler, mod func(*Server)) *Server {
	t.Helper()
	s, err := Listen(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Serve(ctx, h); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s
}

func do(t *testing.T, path, line string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := controlproto.Do(ctx, path, line)
	if err != nil {
		t.Fatalf("Do(%q): %v", line, err)
	}
	return reply
}

var echo = HandlerFunc(func(_ context.Context, req Request) string {
	switch req.Name {
	case "quiet":
		return ""
	case "newline":
		return "has newline\n"
	}
	return "got " + strings.Join(append([]string{req.Name}, req.Args...), "|")
})

func TestServerReplies(t *testing.T) {
	path := tempSock(t)
	serve(t, path, echo, nil)
	for line, want := range map[string]string{
		"status":   "got status\n",
		"kill 9 x": "got kill|9|x\n",
		"quiet":    "",
		"newline":  "has newline\n",
		"":         "Empty command\n",
	} {
		if got := do(t, path, line); got != want {
			t.Errorf("%q: got %q, want %q", line, got, want)
		}
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o700 {
		t.Fatalf("socket mode %v, %v", st.Mode(), err)
	}
	if matches, _ := filepath.Glob(path + ".*"); len(matches) != 0 {
		t.Fatalf("temporary socket names left: %v", matches)
	}
}

func TestServerManyClients(t *testing.T) {
	path := tempSock(t)
	serve(t, path, HandlerFunc(func(_ context.Context, req Request) string {
		time.Sleep(10 * time.Millisecond) // overlap the clients
		return "you are " + req.Args[0]
	}), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			reply, err := controlproto.Do(ctx, path, fmt.Sprintf("who %d", i))
			if err == nil && reply != fmt.Sprintf("you are %d\n", i) {
				err = fmt.Errorf("client %d got %q", i, reply)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestServerSilentClientTimesOut(t *testing.T) {
	path := tempSock(t)
	serve(t, path, echo, func(s *Server) { s.ReadTimeout = 50 * time.Millisecond })
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(c)
	if string(got) != ReplyNotTerminated+"\n" {
		t.Fatalf("got %q", got)
	}
}

func TestServeCancelReleasesBlockedHandlers(t *testing.T) {
	path := tempSock(t)
	s, err := Listen(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	entered := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(ctx, HandlerFunc(func(ctx context.Context, _ Request) string {
			close(entered)
			<-ctx.Done()
			return ""
		}))
	}()
	clientDone := make(chan string, 1)
	go func() {
		reply, _ := controlproto.Do(context.Background(), path, "block")
		clientDone <- reply
	}()
	<-entered
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	select {
	case reply := <-clientDone:
		if reply != "" {
			t.Fatalf("blocked client got %q", reply)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the blocked client never returned")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("socket not removed on shutdown")
	}
}

func TestListenStaleSocket(t *testing.T) {
	path := tempSock(t)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	var told string
	s, err := Listen(path, func(p string) { told = p })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if told != path {
		t.Fatalf("onStale got %q", told)
	}
}

func TestListenLiveSocket(t *testing.T) {
	path := tempSock(t)
	serve(t, path, HandlerFunc(func(context.Context, Request) string { return "status=running\napplication=7\n" }), nil)
	_, err := Listen(path, func(string) { t.Error("a live socket was called stale") })
	var inUse *InUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("error %v, want InUseError", err)
	}
	want := fmt.Sprintf("Another zrdun is already up using socket '%s':\nstatus=running\napplication=7", path)
	if err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
}

func TestListenLeavesOtherFilesAlone(t *testing.T) {
	for _, kind := range []string{"file", "directory"} {
		t.Run(kind, func(t *testing.T) {
			path := tempSock(t)
			if kind == "file" {
				os.WriteFile(path, []byte("precious"), 0o644)
			} else {
				os.Mkdir(path, 0o755)
			}
			_, err := Listen(path, nil)
			if err == nil || !strings.Contains(err.Error(), "not a socket") {
				t.Fatalf("error %v", err)
			}
			if kind == "file" {
				if data, _ := os.ReadFile(path); string(data) != "precious" {
					t.Fatal("file changed")
				}
			} else if st, err := os.Stat(path); err != nil || !st.IsDir() {
				t.Fatal("directory changed")
			}
		})
	}
}

func TestListenPathTooLong(t *testing.T) {
	_, err := Listen("/tmp/"+strings.Repeat("x", 110), nil)
	if err == nil || !strings.Contains(err.Error(), "socket path too long") {
		t.Fatalf("error %v", err)
	}
}

func TestCloseKeepsAReplacedSocket(t *testing.T) {
	path := tempSock(t)
	s, err := Listen(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	os.WriteFile(path, []byte("another manager's"), 0o600)
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal("Close removed a file that was not its socket")
	}
}

// A peer of another uid is refused even when it can reach the socket.
func TestPeerOfAnotherUserRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: needs root to run a client as uid 65534")
	}
	path := tempSock(t)
	os.Chmod(filepath.Dir(path), 0o755)
	var called atomic.Bool
	serve(t, path, HandlerFunc(func(context.Context, Request) string { called.Store(true); return "secret" }), nil)
	os.Chmod(path, 0o777) // let the other user reach the peer check
	// The test binary's own directory is private: run a copy.
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(filepath.Dir(path), "client")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), "ZD_CONTROL_CLIENT="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if string(out) != ReplyPermissionDenied+"\n" {
		t.Fatalf("other user got %q (%v)", out, err)
	}
	if called.Load() {
		t.Fatal("handler ran for a refused peer")
	}
	// The same client as ourselves is served.
	cmd = exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), "ZD_CONTROL_CLIENT="+path)
	if out, _ := cmd.Output(); string(out) != "secret\n" {
		t.Fatalf("own user got %q", out)
	}
}

func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{"status\n", "kill 9\n", "\n", "x", strings.Repeat("y", 10001), "\xff\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, errReply := ReadRequest(strings.NewReader(string(data)))
		if errReply == "" && (len(req.Line) > MaxLine || req.Name == "") {
			t.Fatalf("bad request %q", req.Line)
		}
	})
}

func TestHandlerPanicKeepsServing(t *testing.T) {
	path := tempSock(t)
	serve(t, path, HandlerFunc(func(_ context.Context, req Request) string {
		if req.Name == "boom" {
			panic("bug")
		}
		return "fine"
	}), nil)
	if got := do(t, path, "boom"); got != "" {
		t.Fatalf("panicking handler replied %q", got)
	}
	if got := do(t, path, "status"); got != "fine\n" {
		t.Fatalf("after a panic: %q", got)
	}
}
