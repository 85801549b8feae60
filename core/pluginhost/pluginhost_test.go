package pluginhost

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/plugins/healthcheck"
	"github.com/zdaemon/zdaemon/plugins/healthcheck/builtin"
	"github.com/zdaemon/zdaemon/plugins/transcript"
	"github.com/zdaemon/zdaemon/plugins/transcript/logfile"
)

// TestMain lets the test binary be the built-in plugins (go-plugin's
// helper-process trick): the host runs "<exe> plugin KIND NAME".
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "plugin" && os.Getenv("ZD_PLUGINHOST_TEST") == "1" {
		switch os.Args[2] {
		case "transcript":
			transcript.Serve(&logfile.Sink{}, nil)
		case "healthcheck":
			healthcheck.Serve(builtin.Checks[os.Args[3]](), nil)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/hashicorp/go-plugin.(*Client).logStderr"))
}

func testHost(t *testing.T) (*Host, context.Context) {
	t.Helper()
	t.Setenv("ZD_PLUGINHOST_TEST", "1")
	ctx, cancel := context.WithCancel(context.Background())
	r := child.NewReaper(slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &Host{Exe: os.Args[0], Reaper: r, Logger: slog.New(slog.DiscardHandler)}, ctx
}

func TestSinkRestartsOnTheSamePipe(t *testing.T) {
	h, ctx := testHost(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "out.log")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s, err := h.StartSink(ctx, Spec{Kind: "file"}, transcript.Config{"path": path}, r)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w.WriteString("one\n")
	waitContent(t, path, "one\n")
	pid, _ := strconv.Atoi(s.cur.pid)
	syscall.Kill(pid, syscall.SIGKILL)
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		restarts := s.restarts
		s.mu.Unlock()
		if restarts == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sink not restarted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.WriteString("two\n")
	w.Close()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.Drain(dctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "one\ntwo\n" {
		t.Fatalf("got %q", got)
	}
}

func TestProberRunsChecks(t *testing.T) {
	h, ctx := testHost(t)
	dir := t.TempDir()
	flag := filepath.Join(dir, "ready")
	p, err := h.StartProber(ctx, []Check{{CheckConfig: config.CheckConfig{
		PluginConfig: config.PluginConfig{Kind: "program", Settings: map[string]any{"command": "test -e " + flag}},
		Interval:     20 * time.Millisecond,
		Timeout:      time.Second,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	up := p.Probe(ctx, os.Getpid(), time.Now())
	select {
	case <-up:
		t.Fatal("up before the flag exists")
	case <-time.After(100 * time.Millisecond):
	}
	os.WriteFile(flag, nil, 0o644)
	select {
	case <-up:
	case <-time.After(5 * time.Second):
		t.Fatal("not up after the flag")
	}
	p.Idle()
	if info := p.Info(); len(info) != 1 || info[0] != "healthcheck program pid=idle" {
		t.Fatalf("info %v", info)
	}
}

func waitContent(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got, _ := os.ReadFile(path); string(got) == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	got, _ := os.ReadFile(path)
	t.Fatalf("%s: %q, want %q", path, got, want)
}
