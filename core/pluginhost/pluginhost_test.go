package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
		if os.Getenv("ZD_PLUGINHOST_PROTOCOL") == "1" {
			serveVersion1(os.Args[2], os.Args[3])
			os.Exit(0)
		}
		switch os.Args[2] {
		case "transcript":
			if os.Getenv("ZD_PLUGINHOST_HANG") == "1" {
				transcript.Serve(hangingSink{&logfile.Sink{}}, nil)
			}
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
	return &Host{Exe: os.Args[0], Reaper: r, Logger: slog.New(slog.DiscardHandler), SocketDir: socketDir(t)}, ctx
}

// socketDir is a plugin socket directory for a test: short, for the
// socket paths below it (a t.TempDir() may be too long), and checked
// empty when the test ends: every plugin's socket gone with it.
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ph")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if left, _ := os.ReadDir(dir); len(left) > 0 && !t.Failed() {
			t.Errorf("left in the plugin socket directory: %v", left)
		}
		os.RemoveAll(dir)
	})
	return dir
}

// A sink's socket is in the host's SocketDir, in go-plugin's
// plugin-dirNNN, and goes with the process: a dead sink's when it is
// restarted, the last one's at Close (socketDir checks).
func TestSinkSocketInSocketDir(t *testing.T) {
	h, ctx := testHost(t)
	s, _ := startFileSink(t, ctx, h, filepath.Join(t.TempDir(), "out.log"))
	sockets := func() []string {
		got, _ := filepath.Glob(filepath.Join(h.SocketDir, "plugin-dir*", "plugin*"))
		return got
	}
	first := sockets()
	if len(first) != 1 {
		t.Fatalf("sockets in %s: %v, want one", h.SocketDir, first)
	}
	pid := s.Pids()[0]
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(s.Pids()) == 0 || s.Pids()[0] == pid {
		if time.Now().After(deadline) {
			t.Fatal("the sink was not restarted within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := sockets(); len(got) != 1 || got[0] == first[0] {
		t.Errorf("after the restart: sockets %v, want only the new sink's (the dead one's %v removed)", got, first)
	}
	s.Close()
}

func TestSinkRestartsOnTheSamePipe(t *testing.T) {
	h, ctx := testHost(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "out.log")
	s, w := startFileSink(t, ctx, h, path)
	w.WriteString("one\n")
	waitContent(t, path, "one\n")
	if st, err := s.Status(ctx); err != nil || st.BytesWritten != 4 || st.Destination != path {
		t.Fatalf("status before the crash: %+v, %v", st, err)
	}
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
	// The new instance counts from 0; the host adds what the dead one
	// reported, so the count never goes down.
	if st, err := s.Status(ctx); err != nil || st.BytesWritten != 4 {
		t.Fatalf("status after the restart: %+v, %v", st, err)
	}
	w.WriteString("two\n")
	w.Close()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if st, err := s.Drain(dctx); err != nil || st.BytesWritten != 8 {
		t.Fatalf("drain: %+v, %v", st, err)
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
	type pass struct {
		check, tries int
		took         time.Duration
	}
	passes := make(chan pass, 2)
	began := time.Now()
	up := p.Probe(ctx, os.Getpid(), time.Now(), func(check int, took time.Duration, tries int) { passes <- pass{check, tries, took} })
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
	// It failed before the flag, tried every 20 ms: more than one try,
	// each failed one followed by an interval, and no longer than the
	// whole probe.
	if len(passes) != 1 {
		t.Fatalf("%d passes reported, want 1", len(passes))
	}
	if ps := <-passes; ps.check != 0 || ps.tries < 2 || ps.took < time.Duration(ps.tries-1)*20*time.Millisecond || ps.took > time.Since(began) {
		t.Errorf("passed %+v", ps)
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

// A plugin that prints garbage instead of the handshake, from a wrapper
// script whose child holds its stdout (in the script's process group, or
// escaped from it with setsid): launching it fails at once with the reason
// in plain words, in the manager (reaper) and in the client (os/exec), and
// the child in the group is killed.
func TestGarbageHandshakeFailsAtOnce(t *testing.T) {
	tests := []struct {
		name    string
		reaper  bool
		escape  string // "setsid " to leave the group
		groupOK bool   // the child is in the group, so it must die
	}{
		{"client", false, "", true},
		{"manager", true, "", true},
		{"client-escaped", false, "setsid ", false},
		{"manager-escaped", true, "setsid ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The client has no reaper: none may run (it would reap
			// os/exec's children).
			h := &Host{Logger: slog.New(slog.DiscardHandler), SocketDir: socketDir(t)}
			if tt.reaper {
				h, _ = testHost(t)
			}
			dir := t.TempDir()
			pidfile := filepath.Join(dir, "child")
			script := filepath.Join(dir, "plugin.sh")
			body := fmt.Sprintf("#!/bin/sh\n%ssleep 1000 &\necho $! > %s\necho garbage\necho 'bad config' >&2\nwait\n", tt.escape, pidfile)
			if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, _, _, err := h.Describe(context.Background(), "transcript", Spec{Kind: "x", Path: script})
			took := time.Since(start)
			data, _ := os.ReadFile(pidfile)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
			if pid > 0 {
				defer syscall.Kill(pid, syscall.SIGKILL)
			}
			var se *StartError
			if !errors.As(err, &se) || !strings.HasPrefix(se.Error(), "plugin "+script+" did not start: it printed \"garbage\" instead of the go-plugin handshake") {
				t.Fatalf("error %v", err)
			}
			if took > 5*time.Second {
				t.Fatalf("took %v", took)
			}
			if tt.groupOK {
				deadline := time.Now().Add(5 * time.Second)
				for syscall.Kill(pid, 0) == nil && !zombie(pid) {
					if time.Now().After(deadline) {
						t.Fatalf("the plugin's child %d survived", pid)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
}

// zombie reports whether pid has exited but is not reaped yet.
func zombie(pid int) bool {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
	return len(f) > 0 && f[0] == "Z"
}

// How a plugin failed to start is said in plain words.
func TestStartErrorReasons(t *testing.T) {
	tests := []struct {
		name, script, want string
	}{
		{"exits", "echo 'no config' >&2; exit 3", `it ended (exit status 3) before the go-plugin handshake; its last words on stderr: "no config"`},
		{"go-plugin's init error", `echo '{"@level":"error","@message":"plugin init error","@timestamp":"2026-12-02T13:46:15.188890Z","error":"listen unix /run/job/.zdsock.plugins/4711/plugin-dir1/plugin2: bind: no such file or directory"}' >&2; exit 0`,
			`it ended (exit status 0) before the go-plugin handshake; its last words on stderr: "plugin init error: listen unix /run/job/.zdsock.plugins/4711/plugin-dir1/plugin2: bind: no such file or directory"`},
		{"a log line with fields", `echo '{"@level":"error","@message":"bad setting","@module":"x","name":"path","line":3}' >&2; exit 1`,
			`it ended (exit status 1) before the go-plugin handshake; its last words on stderr: "bad setting line=3 name=path"`},
		{"JSON that is no log line", `echo '{"error":"x"}' >&2; exit 1`, `it ended (exit status 1) before the go-plugin handshake; its last words on stderr: "{\"error\":\"x\"}"`},
		{"closes-stdout", "exec >&-; exec sleep 1000", "it closed its stdout without printing the go-plugin handshake"},
		{"silent", "exec sleep 1000", "it printed no go-plugin handshake within 300ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Host{Logger: slog.New(slog.DiscardHandler), StartTimeout: 300 * time.Millisecond, SocketDir: socketDir(t)}
			script := filepath.Join(t.TempDir(), "plugin.sh")
			if err := os.WriteFile(script, []byte("#!/bin/sh\n"+tt.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			_, _, _, err := h.Describe(context.Background(), "healthcheck", Spec{Kind: "x", Path: script})
			want := "plugin " + script + " did not start: " + tt.want
			if err == nil || err.Error() != want {
				t.Fatalf("error %v, want %q", err, want)
			}
		})
	}
}

// startFileSink starts the built-in file sink writing path, on a new pipe
// whose write end it returns; both are closed when the test ends.
func startFileSink(t *testing.T, ctx context.Context, h *Host, path string) (*Sink, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	s, err := h.StartSink(ctx, Spec{Kind: "file"}, transcript.Config{"path": path}, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, w
}

// A liveness check keeps its plugin while the program is up and is tried
// after its grace and then every interval; a try that hangs past the
// timeout is a failed try; the tries end with the watch's context.
func TestWatchTriesLivenessChecks(t *testing.T) {
	h, ctx := testHost(t)
	dir := t.TempDir()
	flag := filepath.Join(dir, "healthy")
	os.WriteFile(flag, nil, 0o644)
	script := filepath.Join(dir, "check.sh")
	os.WriteFile(script, []byte("test -e "+flag+" || exec sleep 10\n"), 0o644)
	live := &config.Liveness{Interval: 50 * time.Millisecond, Failures: 3, Grace: 100 * time.Millisecond}
	p, err := h.StartProber(ctx, []Check{
		{CheckConfig: config.CheckConfig{
			PluginConfig: config.PluginConfig{Kind: "program", Settings: map[string]any{"command": "test -e " + flag}},
			Interval:     time.Second, Timeout: time.Second,
		}},
		{CheckConfig: config.CheckConfig{
			PluginConfig: config.PluginConfig{Kind: "program", Settings: map[string]any{"command": "sh " + script}},
			Interval:     time.Second, Timeout: 100 * time.Millisecond, Liveness: live,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Idle()
	if info := p.Info(); len(info) != 2 || info[0] != "healthcheck program pid=idle" || strings.HasSuffix(info[1], "pid=idle") {
		t.Fatalf("info %v: the liveness check's plugin must stay", info)
	}
	type outcome struct {
		check int
		ok    bool
		msg   string
		at    time.Time
		took  time.Duration
	}
	got := make(chan outcome, 100)
	wctx, stop := context.WithCancel(ctx)
	began := time.Now()
	p.Watch(wctx, os.Getpid(), began, func(check int, ok bool, msg string, took time.Duration) {
		got <- outcome{check, ok, msg, time.Now(), took}
	})
	next := func() outcome {
		t.Helper()
		select {
		case o := <-got:
			return o
		case <-time.After(5 * time.Second):
			t.Fatal("no try within 5s")
			return outcome{}
		}
	}
	first := next()
	if first.check != 1 || !first.ok || first.at.Sub(began) < live.Grace+live.Interval || first.took <= 0 || first.took > first.at.Sub(began) {
		t.Fatalf("first try %+v after %v", first, first.at.Sub(began))
	}
	os.Remove(flag)
	for {
		o := next()
		if o.ok {
			continue
		}
		// The try hangs: it fails by its timeout, told by the plugin or,
		// on a loaded machine, by the host's deadline of the same call.
		if !strings.Contains(o.msg, "program check timed out after 100ms") && !strings.Contains(o.msg, "did not answer in time") {
			t.Fatalf("failed try %+v", o)
		}
		break
	}
	stop()
	time.Sleep(3 * live.Interval)
	for len(got) > 0 {
		<-got // tries under way when the watch ended
	}
	time.Sleep(3 * live.Interval)
	if len(got) != 0 {
		t.Fatalf("%d tries after the watch ended", len(got))
	}
}
