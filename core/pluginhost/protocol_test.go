package pluginhost

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/zdaemon/zdaemon/plugins/healthcheck"
	"github.com/zdaemon/zdaemon/plugins/healthcheck/builtin"
	"github.com/zdaemon/zdaemon/plugins/transcript"
	"github.com/zdaemon/zdaemon/plugins/transcript/logfile"
)

// serveVersion1 is a plugin as built against protocol version 1 (before
// the base service): it serves that version only, with Schema and
// Validate on the kind's own service, like a plugin built from the
// examples before version 2.
func serveVersion1(kind, name string) {
	var hs plugin.HandshakeConfig
	var set plugin.PluginSet
	switch kind {
	case "transcript":
		hs = transcript.Handshake
		set = plugin.PluginSet{transcript.PluginName: &transcript.Plugin{Impl: &logfile.Sink{}, Version: 1}}
	case "healthcheck":
		hs = healthcheck.Handshake
		set = plugin.PluginSet{healthcheck.PluginName: &healthcheck.Plugin{Impl: builtin.Checks[name](), Version: 1}}
	}
	hs.ProtocolVersion = 1
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  hs,
		VersionedPlugins: map[int]plugin.PluginSet{1: set},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}

// A host speaks version 2 with a plugin of today and version 1 with a
// plugin built before the base service: both describe their
// configuration, and a version-1 sink copies and drains.
func TestPluginsOfEveryProtocolVersion(t *testing.T) {
	for _, version := range []int{1, 2} {
		t.Run(strconv.Itoa(version), func(t *testing.T) {
			h, ctx := testHost(t)
			if version == 1 {
				t.Setenv("ZD_PLUGINHOST_PROTOCOL", "1")
			}
			for _, kind := range []struct{ kind, name, attr string }{{"transcript", "file", "path"}, {"healthcheck", "tcp", "address"}} {
				l, err := h.launch(kind.kind, Spec{Kind: kind.name}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if got := l.client.NegotiatedVersion(); got != version {
					t.Errorf("%s: negotiated version %d, want %d", kind.kind, got, version)
				}
				l.client.Kill()
				sch, validate, kill, err := h.Describe(ctx, kind.kind, Spec{Kind: kind.name})
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, a := range sch.Attributes {
					found = found || a.Name == kind.attr
				}
				if !found {
					t.Errorf("%s: schema %+v lacks %s", kind.kind, sch, kind.attr)
				}
				if errs := validate(map[string]any{}); len(errs) == 0 {
					t.Errorf("%s: an empty configuration passed", kind.kind)
				}
				kill()
			}
			path := filepath.Join(t.TempDir(), "out.log")
			s, w := startFileSink(t, ctx, h, path)
			w.WriteString("one\n")
			w.Close()
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if _, err := s.Drain(dctx); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(path); string(got) != "one\n" {
				t.Fatalf("got %q", got)
			}
		})
	}
}

// syncBuffer is an event log to read in a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// A sink killed before Drain is started again and Drain waits for it
// (without polling) and gets everything written; the calls made while it
// is down, and the event log, say so in plain words, never in gRPC's.
func TestSinkDrainWaitsForTheRestart(t *testing.T) {
	h, ctx := testHost(t)
	var events syncBuffer
	h.Logger = slog.New(slog.NewTextHandler(&events, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dir := t.TempDir()
	path := filepath.Join(dir, "out.log")
	s, w := startFileSink(t, ctx, h, path)
	w.WriteString("one\n")
	waitContent(t, path, "one\n")
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	syscall.Kill(atoi(cur.pid), syscall.SIGKILL)
	<-cur.exited
	var errs []string
	if err := s.Reopen(ctx); err != nil {
		errs = append(errs, err.Error())
	}
	if _, err := s.Status(ctx); err != nil {
		errs = append(errs, err.Error())
	}
	w.WriteString("two\n")
	w.Close()
	begin := time.Now()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.Drain(dctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(begin)
	if got, _ := os.ReadFile(path); string(got) != "one\ntwo\n" {
		t.Fatalf("got %q", got)
	}
	if took > 5*time.Second {
		t.Errorf("drain took %v after a restart of 100 ms back-off", took)
	}
	if s.restarts != 1 {
		t.Errorf("restarts %d", s.restarts)
	}
	// Once restarted, a refused call is in the plugin's own words.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := s.Reopen(ctx); err == nil {
		t.Error("reopen in a removed directory succeeded")
	} else {
		errs = append(errs, err.Error())
	}
	for _, e := range errs {
		if !strings.HasPrefix(e, "plugin built-in transcript file failed to ") || strings.Contains(e, "rpc error") {
			t.Errorf("error %q", e)
		}
	}
	if len(errs) < 3 {
		t.Errorf("errors %q: want one for each call made while the sink was down and for the reopen", errs)
	}
	if log := events.String(); strings.Contains(log, "rpc error: code =") || !strings.Contains(log, "died; restarting it on the same pipe") {
		t.Errorf("event log:\n%s", log)
	}
}

// hangingSink never answers Reopen.
type hangingSink struct{ *logfile.Sink }

func (hangingSink) Reopen(ctx context.Context) error { select {} }

// startHangingSink starts the built-in file sink on a pipe, made to hang
// in every Reopen (ZD_PLUGINHOST_HANG); it is closed at the test's end.
func startHangingSink(t *testing.T, h *Host, ctx context.Context) *Sink {
	t.Helper()
	t.Setenv("ZD_PLUGINHOST_HANG", "1")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	s, err := h.StartSink(ctx, Spec{Kind: "file"}, transcript.Config{"path": filepath.Join(t.TempDir(), "out.log")}, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// A call to a plugin that hangs ends when the plugin's process dies
// (go-plugin's done context), in plain words.
func TestCallEndsWhenThePluginDies(t *testing.T) {
	h, ctx := testHost(t)
	s := startHangingSink(t, h, ctx)
	s.mu.Lock()
	pid := atoi(s.cur.pid)
	s.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- s.Reopen(context.Background()) }()
	// The call has reached the plugin once a Status call behind it is
	// answered (gRPC serves them concurrently).
	if _, err := s.Status(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("reopen returned before the kill: %v", err)
	default:
	}
	killed := time.Now()
	syscall.Kill(pid, syscall.SIGKILL)
	select {
	case err := <-done:
		// (On a loaded machine the call may reach the host only after
		// the kill: it is then refused while the sink restarts.)
		want := "plugin built-in transcript file failed to reopen its destination: it went away (it crashed or closed the connection)"
		if err == nil || (err.Error() != want && err.Error() != "plugin built-in transcript file failed to reopen its destination: "+errRestarting) {
			t.Fatalf("reopen: %v, want %q", err, want)
		}
		if took := time.Since(killed); took > 5*time.Second {
			t.Fatalf("reopen ended %v after the kill", took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reopen still hangs after the plugin died")
	}
}

// A call its caller gives up (ctx cancelled) says so, with the caller's
// cause: the plugin did not go away, as gRPC's Canceled would read.
func TestCallGivenUpSaysWhy(t *testing.T) {
	h, ctx := testHost(t)
	s := startHangingSink(t, h, ctx)
	call, giveUp := context.WithCancelCause(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Reopen(call) }()
	if _, err := s.Status(ctx); err != nil { // the call has reached the plugin, as above
		t.Fatal(err)
	}
	giveUp(errors.New("the caller leaves"))
	select {
	case err := <-done:
		want := "plugin built-in transcript file failed to reopen its destination: it had not answered when the call was given up (the caller leaves)"
		if err == nil || err.Error() != want {
			t.Fatalf("reopen: %v, want %q", err, want)
		}
	case <-time.After(time.Minute):
		t.Fatal("reopen still hangs after its ctx ended")
	}
}
