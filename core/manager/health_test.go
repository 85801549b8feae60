package manager

import (
	"context"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/config"
)

// fakeLiveness hands the test the report function of each watch.
type fakeLiveness struct {
	mu      sync.Mutex
	reports []func(int, bool, string, time.Duration)
	ctxs    []context.Context
	pids    []int
}

func (f *fakeLiveness) Watch(ctx context.Context, pid int, _ time.Time, report func(int, bool, string, time.Duration)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, report)
	f.ctxs = append(f.ctxs, ctx)
	f.pids = append(f.pids, pid)
}

func (f *fakeLiveness) last() (func(int, bool, string, time.Duration), context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reports[len(f.reports)-1], f.ctxs[len(f.ctxs)-1]
}

func livenessConfig(c *config.Config) {
	c.Checks = []config.CheckConfig{{
		PluginConfig: config.PluginConfig{Kind: "http"},
		Interval:     time.Second, Timeout: time.Second,
		Liveness: &config.Liveness{Interval: 10 * time.Second, Failures: 3},
	}}
	// A signal's exit status (-1) ending the manager would hide a restart
	// that wrongly went through the exit-code check.
	c.ExitCodes = []int{-1, 0}
}

// Failures in a row restart the program through SIGTERM and the back-off
// of a crash (not the exit codes); a passing try starts the count again.
func TestLivenessRestartsAfterFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		lv := &fakeLiveness{}
		m := New(testConfig(livenessConfig), f, Options{Liveness: lv})
		codec := make(chan int, 1)
		go func() { codec <- m.Run(context.Background()) }()
		time.Sleep(time.Second)
		synctest.Wait()
		report, ctx := lv.last()
		for _, ok := range []bool{false, false, true, false, false} {
			report(0, ok, "http check failed: connection refused", 5*time.Millisecond)
			synctest.Wait()
		}
		if got := f.last().got(); len(got) != 0 || m.State() != Running {
			t.Fatalf("after 2 failures in a row: signals %v, state %v", got, m.State())
		}
		report(0, false, "http check timed out after 1s", time.Second)
		synctest.Wait()
		if got := f.procs[0].got(); !slices.Equal(got[:1], []syscall.Signal{syscall.SIGTERM}) {
			t.Fatalf("signals %v, want SIGTERM first", got)
		}
		if ctx.Err() == nil {
			t.Fatal("the liveness watch of a stopped program goes on")
		}
		if s := m.State(); s != Backoff {
			t.Fatalf("state %v, want backoff", s)
		}
		killed := time.Now()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		starts := f.startTimes()
		if len(starts) != 2 || starts[1] != killed.Sub(f.starts[0])+time.Second {
			t.Fatalf("starts %v; killed at %v, want the restart 1s later", starts, killed.Sub(f.starts[0]))
		}
		rep := req(m, "health")
		if !strings.Contains(rep, "liveness http: every 10s, restart after 3 failures; 0 failed in a row") ||
			!strings.Contains(rep, "last failure 2.0s ago: http check timed out after 1s; restarted the program 1 time(s)") {
			t.Fatalf("health %q", rep)
		}
		if len(lv.pids) != 2 || lv.pids[1] != 101 {
			t.Fatalf("watches of pids %v", lv.pids)
		}
		req(m, "stop")
		if code := <-codec; code != 0 {
			t.Fatalf("exit %d", code)
		}
	})
}

// runWatchdog starts a manager with a watchdog and a notification channel.
func runWatchdog(t *testing.T, f *fakeStarter) (*Manager, chan Notice, func() int) {
	notices := make(chan Notice)
	cfg := testConfig(func(c *config.Config) {
		c.Watchdog = 2 * time.Second
		c.StopTimeout = 5 * time.Second
		c.ExitCodes = []int{-1, 0}
	})
	m := New(cfg, f, Options{Notices: notices})
	codec := make(chan int, 1)
	go func() { codec <- m.Run(context.Background()) }()
	return m, notices, func() int { return <-codec }
}

// WATCHDOG=1 from the program keeps it; from anyone else it counts for
// nothing. A missed period is SIGABRT, then SIGKILL after stop-timeout,
// then the back-off of a crash.
func TestWatchdog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		m, notices, wait := runWatchdog(t, f)
		synctest.Wait()
		for range 5 {
			time.Sleep(1500 * time.Millisecond)
			notices <- Notice{Pid: 100, Text: "WATCHDOG=1\n"}
		}
		lastPing := time.Now()
		for range 3 {
			time.Sleep(time.Second / 2)
			notices <- Notice{Pid: 4242, Text: "WATCHDOG=1"} // a child of the program
		}
		time.Sleep(time.Second/2 - time.Nanosecond)
		synctest.Wait()
		if got := f.last().got(); len(got) != 0 {
			t.Fatalf("signalled %v before the period passed", got)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if got := f.last().got(); !slices.Equal(got, []syscall.Signal{syscall.SIGABRT}) || time.Since(lastPing) != 2*time.Second {
			t.Fatalf("signals %v %v after the last WATCHDOG=1", got, time.Since(lastPing))
		}
		if s := m.State(); s != Failing {
			t.Fatalf("state %v", s)
		}
		time.Sleep(5 * time.Second) // stop-timeout: SIGKILL
		synctest.Wait()
		if got := f.procs[0].got(); len(got) < 2 || got[1] != syscall.SIGKILL || m.State() != Backoff {
			t.Fatalf("signals %v, state %v", got, m.State())
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if len(f.startTimes()) != 2 {
			t.Fatalf("starts %v", f.startTimes())
		}
		if rep := req(m, "health"); !strings.Contains(rep, "watchdog: every 2s; last WATCHDOG=1 8.0s ago; missed 1 time(s)") {
			t.Fatalf("health %q", rep)
		}
		req(m, "stop")
		wait()
	})
}

// WATCHDOG=trigger is a missed period at once; STATUS= is kept,
// sanitised, from the program only.
func TestWatchdogTriggerAndStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		m, notices, wait := runWatchdog(t, f)
		time.Sleep(time.Second)
		notices <- Notice{Pid: 100, Text: "READY=1\nSTATUS=serving\x1b[31m 12\trequests\n"}
		notices <- Notice{Pid: 7, Text: "STATUS=not the program"}
		if rep := req(m, "health"); !strings.Contains(rep, "status: 'serving [31m 12 requests' (pid 100, 0.0s ago)") {
			t.Fatalf("health %q", rep)
		}
		notices <- Notice{Pid: 100, Text: "WATCHDOG=trigger"}
		synctest.Wait()
		if got := f.last().got(); !slices.Equal(got, []syscall.Signal{syscall.SIGABRT}) {
			t.Fatalf("signals %v", got)
		}
		req(m, "stop") // while failing: SIGTERM, and no restart
		if code := wait(); code != 0 || len(f.startTimes()) != 1 {
			t.Fatalf("exit %d, starts %v", code, f.startTimes())
		}
	})
}

func TestSanitizeStatus(t *testing.T) {
	long := strings.Repeat("é", MaxStatusText)
	for _, tt := range []struct{ in, want string }{
		{"ok", "ok"},
		{"a\tb\rc\x00d\u2028e", "a b c d e"},
		{"bad \xff utf-8", "bad \uFFFD utf-8"},
		{long, long[:MaxStatusText-len("…")-1] + "…"},
	} {
		if got := sanitizeStatus(tt.in); got != tt.want {
			t.Errorf("sanitizeStatus(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParseNotice(f *testing.F) {
	for _, s := range []string{"READY=1", "WATCHDOG=1\nSTATUS=up", "STATUS=\xff\x00", "WATCHDOG=trigger", "STATUS=" + strings.Repeat("x", 5000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p := parseNotice(text)
		if p.status == nil {
			return
		}
		s := *p.status
		if len(s) > MaxStatusText || !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
			t.Fatalf("status %q kept", s)
		}
	})
}

// The exit of a program that failed its watchdog, even exit status 0,
// goes to the back-off, not to the exit codes.
func TestFailingExitIsNotAnExitCode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		m, notices, wait := runWatchdog(t, f)
		time.Sleep(time.Second)
		notices <- Notice{Pid: 100, Text: "WATCHDOG=trigger"}
		synctest.Wait()
		f.last().exit(child.ExitStatus{Code: 0})
		synctest.Wait()
		if s := m.State(); s != Backoff {
			t.Fatalf("state %v, want backoff", s)
		}
		req(m, "stop")
		wait()
	})
}
