package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/control"
	"github.com/zdaemon/zdaemon/core/controlproto"
	"github.com/zdaemon/zdaemon/core/report"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeProc is a program under the test's control.
type fakeProc struct {
	pid  int
	done chan child.ExitStatus
	f    *fakeStarter

	mu      sync.Mutex
	signals []syscall.Signal
	exited  bool
}

func (p *fakeProc) Pid() int                      { return p.pid }
func (p *fakeProc) Done() <-chan child.ExitStatus { return p.done }

func (p *fakeProc) Signal(sig syscall.Signal, group bool) error {
	p.mu.Lock()
	p.signals = append(p.signals, sig)
	p.mu.Unlock()
	if sig == syscall.SIGKILL || (sig == syscall.SIGTERM && !p.f.ignoreTERM) {
		p.exit(child.ExitStatus{Code: -1, Signal: sig})
	}
	return nil
}

func (p *fakeProc) exit(st child.ExitStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited {
		return
	}
	p.exited = true
	p.done <- st
	close(p.done)
}

func (p *fakeProc) got() []syscall.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]syscall.Signal(nil), p.signals...)
}

// fakeStarter hands out fakeProcs; each may exit after a fixed life.
type fakeStarter struct {
	mu         sync.Mutex
	procs      []*fakeProc
	starts     []time.Time
	life       time.Duration // 0 = runs until signalled
	code       int
	ignoreTERM bool
	failExec   bool
}

func (f *fakeStarter) Start() (Proc, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, time.Now())
	if f.failExec {
		return nil, syscall.ENOENT
	}
	p := &fakeProc{pid: 100 + len(f.procs), done: make(chan child.ExitStatus, 1), f: f}
	f.procs = append(f.procs, p)
	if f.life > 0 {
		time.AfterFunc(f.life, func() { p.exit(child.ExitStatus{Code: f.code}) })
	}
	return p, nil
}

func (f *fakeStarter) startTimes() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []time.Duration
	for _, s := range f.starts {
		out = append(out, s.Sub(f.starts[0]))
	}
	return out
}

func (f *fakeStarter) last() *fakeProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.procs[len(f.procs)-1]
}

func testConfig(mod func(*config.Config)) *config.Config {
	cfg := config.Default()
	cfg.Program = []string{"prog"}
	if mod != nil {
		mod(cfg)
	}
	return cfg
}

// run starts a manager in the bubble and returns a function that waits
// for its exit code.
func run(t *testing.T, cfg *config.Config, f *fakeStarter) (*Manager, func() int) {
	t.Helper()
	m := New(cfg, f, Options{})
	codec := make(chan int, 1)
	go func() { codec <- m.Run(context.Background()) }()
	return m, func() int { return <-codec }
}

func req(m *Manager, line string) string {
	f := strings.Fields(line)
	return m.Serve(context.Background(), control.Request{Line: line, Name: f[0], Args: f[1:]})
}

func TestStartGraceThenRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		m, wait := run(t, testConfig(nil), f)
		synctest.Wait()
		if s := m.State(); s != Starting {
			t.Fatalf("state %v, want starting", s)
		}
		time.Sleep(config.DefaultStartGrace)
		synctest.Wait()
		if s := m.State(); s != Running {
			t.Fatalf("state %v, want running", s)
		}
		if got := req(m, "start"); got != "Application already started" {
			t.Fatalf("start: %q", got)
		}
		if got := req(m, "stop"); got != "Sent SIGTERM" {
			t.Fatalf("stop: %q", got)
		}
		if code := wait(); code != 0 {
			t.Fatalf("exit code %d", code)
		}
	})
}

func TestBackoffTimeline(t *testing.T) {
	tests := []struct {
		name    string
		limit   int
		forever bool
		starts  []time.Duration // relative start times to observe
		code    int
	}{
		{"limit 4 gives up after four starts", 4, false, secsList(0, 1, 3, 6), 1},
		{"limit 3 forever keeps the delay at 3", 3, true, secsList(0, 1, 3, 6, 9, 12), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeStarter{life: time.Millisecond, code: 1}
				cfg := testConfig(func(c *config.Config) { c.BackoffLimit = tt.limit; c.Forever = tt.forever })
				m, wait := run(t, cfg, f)
				last := tt.starts[len(tt.starts)-1]
				time.Sleep(last + 100*time.Millisecond)
				synctest.Wait()
				got := f.startTimes()
				if len(got) < len(tt.starts) {
					t.Fatalf("starts %v, want %v", got, tt.starts)
				}
				for i, want := range tt.starts {
					if d := got[i] - want; d < 0 || d > time.Duration(i)*2*time.Millisecond {
						t.Fatalf("start %d at %v, want %v (all %v)", i, got[i], want, got)
					}
				}
				if tt.code >= 0 {
					if code := wait(); code != tt.code {
						t.Fatalf("exit code %d, want %d", code, tt.code)
					}
					if len(got) != len(tt.starts) {
						t.Fatalf("starts %v, want exactly %v", got, tt.starts)
					}
					return
				}
				if s := m.State(); s != Backoff && s != Starting {
					t.Fatalf("state %v", s)
				}
				req(m, "stop")
				if code := wait(); code != 0 {
					t.Fatalf("exit code %d", code)
				}
			})
		})
	}
}

func secsList(ns ...int) []time.Duration {
	out := make([]time.Duration, len(ns))
	for i, n := range ns {
		out[i] = time.Duration(n) * time.Second
	}
	return out
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name      string
		exitCodes []int
		code      int
		wantExit  int
		restarted bool
	}{
		{"0 is fatal by default", []int{0, 2}, 0, 0, false},
		{"2 is fatal by default", []int{0, 2}, 2, 2, false},
		{"3 restarts by default", []int{0, 2}, 3, -1, true},
		{"custom list", []int{3}, 3, 3, false},
		{"empty list restarts 0", []int{}, 0, -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// The program lives longer than the backoff limit, so the
				// governor does not interfere.
				f := &fakeStarter{life: 3 * time.Second, code: tt.code}
				cfg := testConfig(func(c *config.Config) { c.BackoffLimit = 2; c.ExitCodes = tt.exitCodes })
				m, wait := run(t, cfg, f)
				// After a run longer than the limit the restart waits 1 s.
				time.Sleep(4*time.Second + time.Millisecond)
				synctest.Wait()
				if tt.restarted {
					starts := f.startTimes()
					if len(starts) != 2 {
						t.Fatalf("%d starts, want 2", len(starts))
					}
					if gap := starts[1]; gap != 4*time.Second {
						t.Fatalf("restart %v after the start, want 3 s of run + 1 s of delay", gap)
					}
					req(m, "stop")
					if code := wait(); code != 0 {
						t.Fatalf("exit %d", code)
					}
					return
				}
				if code := wait(); code != tt.wantExit {
					t.Fatalf("exit %d, want %d", code, tt.wantExit)
				}
			})
		})
	}
}

func TestGovernorBeforeExitCodes(t *testing.T) {
	// As the original: a quick exit 0 under backoff-limit 1 quits with 1.
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{life: time.Millisecond, code: 0}
		_, wait := run(t, testConfig(func(c *config.Config) { c.BackoffLimit = 1 }), f)
		if code := wait(); code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
	})
}

func TestStopTimeoutEscalates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{ignoreTERM: true}
		m, wait := run(t, testConfig(func(c *config.Config) { c.StopTimeout = 5 * time.Second }), f)
		time.Sleep(time.Second)
		start := time.Now()
		if got := req(m, "stop"); got != "Sent SIGTERM" {
			t.Fatalf("stop: %q", got)
		}
		if code := wait(); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Fatalf("stopped after %v, want 5s", d)
		}
		got := f.last().got()
		want := []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL, syscall.SIGKILL} // TERM, KILL, then the group clean-up
		if len(got) != len(want) {
			t.Fatalf("signals %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("signals %v, want %v", got, want)
			}
		}
	})
}

func TestStopTimeoutZeroNeverKills(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{ignoreTERM: true}
		m, wait := run(t, testConfig(func(c *config.Config) { c.StopTimeout = 0 }), f)
		synctest.Wait()
		req(m, "stop")
		time.Sleep(time.Hour)
		synctest.Wait()
		if s := m.State(); s != Stopping {
			t.Fatalf("state %v after an hour, want stopping", s)
		}
		if got := f.last().got(); len(got) != 1 {
			t.Fatalf("signals %v, want only SIGTERM", got)
		}
		f.last().exit(child.ExitStatus{Code: 0})
		if code := wait(); code != 0 {
			t.Fatalf("exit %d", code)
		}
	})
}

func TestRestartSpawnsNewPid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		m, wait := run(t, testConfig(nil), f)
		time.Sleep(time.Second)
		if got := req(m, "restart"); got != "Sent SIGTERM; will restart later" {
			t.Fatalf("restart: %q", got)
		}
		synctest.Wait()
		st, _ := controlproto.ParseStatus(req(m, "status"))
		if st.Application != 101 {
			t.Fatalf("application %d, want 101", st.Application)
		}
		req(m, "stop")
		wait()
	})
}

func TestStartCutsBackoffShort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{life: time.Millisecond, code: 1}
		m, wait := run(t, testConfig(nil), f)
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		if s := m.State(); s != Backoff {
			t.Fatalf("state %v, want backoff", s)
		}
		f.mu.Lock()
		f.life = 0
		f.mu.Unlock()
		if got := req(m, "start"); got != "Application started" {
			t.Fatalf("start: %q", got)
		}
		if n := len(f.startTimes()); n != 2 {
			t.Fatalf("%d starts, want 2", n)
		}
		req(m, "stop")
		wait()
	})
}

func TestKillThenStopDoesNotRespawn(t *testing.T) {
	// Issue #13 of the original: stop during back-off ends the manager.
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		m, wait := run(t, testConfig(nil), f)
		time.Sleep(10 * time.Millisecond)
		f.last().exit(child.ExitStatus{Code: -1, Signal: syscall.SIGTERM})
		synctest.Wait()
		if got := req(m, "stop"); got != "Application already stopped" {
			t.Fatalf("stop: %q", got)
		}
		if code := wait(); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if n := len(f.startTimes()); n != 1 {
			t.Fatalf("%d starts, want 1", n)
		}
	})
}

func TestExecFailureCountsAs127(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{failExec: true}
		_, wait := run(t, testConfig(func(c *config.Config) { c.BackoffLimit = 2 }), f)
		if code := wait(); code != 1 {
			t.Fatalf("exit %d, want 1 (restarting too frequently)", code)
		}
		if n := len(f.startTimes()); n != 2 {
			t.Fatalf("%d starts, want 2", n)
		}
	})
}

func TestShutdownStopsProgram(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		m, wait := run(t, testConfig(nil), f)
		synctest.Wait()
		m.Shutdown(syscall.SIGTERM)
		// The program died of the SIGTERM: the manager exits as a shell
		// reports that, 128+15 (what docker stop shows).
		if code := wait(); code != 143 {
			t.Fatalf("exit %d, want 143", code)
		}
		if got := f.last().got(); len(got) == 0 || got[0] != syscall.SIGTERM {
			t.Fatalf("program got %v, want SIGTERM first", got)
		}
	})
}

// A program that ignores SIGTERM and is SIGKILLed after stop-timeout
// gives 137 (128+SIGKILL).
func TestShutdownExitStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{ignoreTERM: true}
		m, wait := run(t, testConfig(func(c *config.Config) { c.StopTimeout = time.Second }), f)
		synctest.Wait()
		m.Shutdown(syscall.SIGINT)
		if code := wait(); code != 137 {
			t.Fatalf("exit %d, want 137", code)
		}
	})
}

// reopen_transcript runs beside the loop: a Reopen that hangs goes on
// when its client hangs up (a command sent is carried out), and is given
// up when the manager exits, whose control server would otherwise wait
// for it after "stopped".
func TestReopenEndsWithTheManager(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logged strings.Builder
		called := make(chan context.Context, 1)
		m := New(testConfig(nil), &fakeStarter{}, Options{
			Logger: slog.New(slog.NewTextHandler(&logged, nil)),
			Reopen: func(ctx context.Context) error {
				called <- ctx
				<-ctx.Done()
				return fmt.Errorf("sink: %w", context.Cause(ctx))
			},
		})
		codec := make(chan int, 1)
		go func() { codec <- m.Run(context.Background()) }()
		synctest.Wait()
		client, hangUp := context.WithCancel(context.Background())
		served := make(chan string, 1)
		go func() {
			served <- m.Serve(client, control.Request{Line: "reopen_transcript", Name: "reopen_transcript"})
		}()
		ctx := <-called
		hangUp()
		time.Sleep(time.Hour)
		synctest.Wait()
		if ctx.Err() != nil {
			t.Fatalf("the reopen ended when its client hung up: %v", context.Cause(ctx))
		}
		if got := req(m, "stop"); got != "Sent SIGTERM" {
			t.Fatalf("stop: %q", got)
		}
		<-codec
		if got := <-served; got != "" {
			t.Fatalf("reopen_transcript: %q", got)
		}
		if !errors.Is(context.Cause(ctx), errExiting) {
			t.Fatalf("the reopen's cause: %v", context.Cause(ctx))
		}
		if !strings.Contains(logged.String(), `msg="reopen: sink: the manager exits"`) {
			t.Fatalf("log: %s", logged.String())
		}
	})
}

func TestAwait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		m, wait := run(t, testConfig(nil), f)
		up := make(chan string, 1)
		go func() { up <- req(m, "await up 0") }()
		synctest.Wait()
		select {
		case <-up:
			t.Fatal("await up answered during the start grace period")
		default:
		}
		time.Sleep(config.DefaultStartGrace)
		st, ok := controlproto.ParseStatus(<-up)
		if !ok || st.Application != 100 {
			t.Fatalf("await up: %+v", st)
		}
		down := make(chan string, 1)
		go func() { down <- req(m, "await down") }()
		synctest.Wait()
		req(m, "stop")
		if st, _ := controlproto.ParseStatus(<-down); st.Application != 0 {
			t.Fatalf("await down: %+v", st)
		}
		wait()
		// A manager that has exited answers nothing.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if got := m.Serve(ctx, control.Request{Name: "status"}); got != "" {
			t.Fatalf("status after exit: %q", got)
		}
	})
}

func TestAwaitUpGetsNothingWhenManagerQuits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{life: time.Millisecond, code: 1}
		m, wait := run(t, testConfig(func(c *config.Config) { c.BackoffLimit = 2 }), f)
		got := req(m, "await up 0")
		if got != "" {
			t.Fatalf("await up: %q, want empty (manager gave up)", got)
		}
		wait()
	})
}

// Options.Began is called once, after the loop's first step: the program
// has been spawned, or its exec failed.
func TestBeganAfterTheFirstSpawn(t *testing.T) {
	for _, failExec := range []bool{false, true} {
		t.Run(fmt.Sprintf("exec fails %v", failExec), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeStarter{failExec: failExec}
				var began []int // starts made when Began was called
				cfg := testConfig(func(c *config.Config) { c.BackoffLimit = 2 })
				m := New(cfg, f, Options{Began: func() {
					f.mu.Lock()
					began = append(began, len(f.starts))
					f.mu.Unlock()
				}})
				codec := make(chan int, 1)
				go func() { codec <- m.Run(context.Background()) }()
				synctest.Wait()
				time.Sleep(config.DefaultStartGrace)
				synctest.Wait()
				if !failExec {
					req(m, "stop")
				}
				<-codec
				if !slices.Equal(began, []int{1}) {
					t.Fatalf("Began called with %v starts made, want once, after the first", began)
				}
			})
		})
	}
}

// Options.Up is told, once, what "await up 0" answers, at the moment it
// would (the client that started the manager waits for it on the
// hand-off); a manager that gives up first tells it "". A restart later
// tells it nothing more.
func TestUpToldOnce(t *testing.T) {
	tests := []struct {
		name    string
		starter *fakeStarter
		backoff int
		want    []string // "status" stands for what await up 0 answered
	}{
		{"up after the grace", &fakeStarter{}, 0, []string{"status"}},
		{"manager gives up first", &fakeStarter{life: time.Millisecond, code: 1}, 2, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var toldList []string
				told := func() []string {
					mu.Lock()
					defer mu.Unlock()
					return slices.Clone(toldList)
				}
				cfg := testConfig(func(c *config.Config) {
					if tt.backoff > 0 {
						c.BackoffLimit = tt.backoff
					}
				})
				m := New(cfg, tt.starter, Options{Up: func(s string) {
					mu.Lock()
					toldList = append(toldList, s)
					mu.Unlock()
				}})
				codec := make(chan int, 1)
				go func() { codec <- m.Run(context.Background()) }()
				synctest.Wait()
				if got := told(); len(got) != 0 {
					t.Fatalf("told %q before the start grace ended", got)
				}
				time.Sleep(config.DefaultStartGrace)
				synctest.Wait()
				want := append([]string(nil), tt.want...)
				if want[0] == "status" {
					awaited := req(m, "await up 0")
					if st, ok := controlproto.ParseStatus(awaited); !ok || st.Application != 100 {
						t.Fatalf("await up 0: %q", awaited)
					}
					want[0] = awaited
					// A restart makes a new program up: told nothing.
					req(m, "restart")
					synctest.Wait()
					time.Sleep(config.DefaultStartGrace)
					synctest.Wait()
					req(m, "stop")
				}
				<-codec
				if got := told(); !slices.Equal(got, want) {
					t.Fatalf("Up was told %q, want %q", got, want)
				}
			})
		})
	}
}

func TestControlReplies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		m, wait := run(t, testConfig(nil), f)
		synctest.Wait()
		for _, tc := range []struct{ line, want string }{
			{"bogus", "Unknown command 'bogus'; 'help' for a list"},
			{"STATUS", "Unknown command 'STATUS'; 'help' for a list"},
			{"kill abc", "Bad signal 'abc'"},
			{"reopen_transcript", ""},
			{"await sideways", "Usage: await up [PID] | await down"},
		} {
			if got := req(m, tc.line); got != tc.want {
				t.Errorf("%q: got %q, want %q", tc.line, got, tc.want)
			}
		}
		req(m, "stop")
		wait()
	})
}

func TestTableIsTotalWhereItMatters(t *testing.T) {
	// Every state that can hold a program must handle its exit and every
	// state must handle the control commands.
	for s := State(0); s < numStates; s++ {
		for _, ev := range []Event{evStart, evStop, evRestart} {
			if table[s][ev].act == nil {
				t.Errorf("state %v has no action for %v", s, ev)
			}
		}
	}
	for _, s := range []State{Starting, Running, Stopping, Failing} {
		if table[s][evExit].act == nil || table[s][evShutdown].act == nil {
			t.Errorf("state %v does not handle exit and shutdown", s)
		}
	}
	for _, s := range []State{Starting, Stopping, Backoff, Failing} {
		if table[s][evTimer].act == nil {
			t.Errorf("state %v arms a timer but does not handle it", s)
		}
	}
	if State(99).String() != "state(99)" || Running.String() != "running" || evTimer.String() != "timer" {
		t.Error("names")
	}
}

// TestTableCells applies every event, in each of its variants, to a
// manager put in every state, and checks that the state it ends in is one
// its cell lists (or, for an empty cell, that nothing changed).
func TestTableCells(t *testing.T) {
	type variant struct {
		name     string
		ev       event
		failExec bool          // the next spawn cannot exec
		ran      time.Duration // how long the current run has lasted
		codes    []int
	}
	variants := map[Event][]variant{
		evStart:     {{name: "start"}, {name: "start, exec fails", failExec: true}},
		evStop:      {{name: "stop"}},
		evRestart:   {{name: "restart"}, {name: "restart, exec fails", failExec: true}},
		evTimer:     {{name: "timer"}, {name: "timer, exec fails", failExec: true}},
		evProbe:     {{name: "probe"}},
		evUnhealthy: {{name: "liveness failed", ev: event{reason: "liveness check http failed 3 times in a row"}}},
		evWatchdog:  {{name: "watchdog expired", ev: event{reason: "sent no WATCHDOG=1 within 1s"}}},
		evShutdown:  {{name: "SIGTERM", ev: event{signal: syscall.SIGTERM}}, {name: "ctx"}},
		evExit: {
			{name: "quick crash", ev: event{status: child.ExitStatus{Code: 1}}},
			{name: "quick crash, gives up", ev: event{status: child.ExitStatus{Code: 1}}, codes: []int{0}},
			{name: "crash after a long run", ev: event{status: child.ExitStatus{Code: 1}}, ran: time.Hour},
			{name: "fatal exit code", ev: event{status: child.ExitStatus{Code: 2}}, ran: time.Hour},
			{name: "killed, exec fails next", ev: event{status: child.ExitStatus{Code: -1, Signal: syscall.SIGTERM}}, failExec: true, ran: time.Hour},
			{name: "exit code 0 after a long run", ev: event{status: child.ExitStatus{Code: 0}}, ran: time.Hour},
		},
	}
	for s := State(0); s < numStates; s++ {
		for e := Event(0); e < numEvents; e++ {
			for _, v := range variants[e] {
				for _, shouldBeUp := range []bool{true, false} {
					name := fmt.Sprintf("%v/%s/shouldBeUp=%v", s, v.name, shouldBeUp)
					t.Run(name, func(t *testing.T) {
						synctest.Test(t, func(t *testing.T) {
							f := &fakeStarter{failExec: v.failExec}
							cfg := testConfig(func(c *config.Config) {
								c.BackoffLimit = 3
								if v.codes != nil {
									c.BackoffLimit = 1
								}
							})
							m := New(cfg, f, Options{})
							m.state, m.shouldBeUp = s, shouldBeUp
							m.lastStart = time.Now().Add(-v.ran)
							switch s {
							case Starting, Running, Stopping, Failing:
								m.proc = &fakeProc{pid: 42, done: make(chan child.ExitStatus, 1), f: f}
							}
							switch s {
							case Starting, Stopping, Backoff, Failing:
								m.arm(time.Second)
							}
							ev := v.ev
							ev.kind = e
							m.apply(ev)
							c := table[s][e]
							switch {
							case c.act == nil && m.state != s:
								t.Fatalf("empty cell moved to %v", m.state)
							case c.act != nil && !slices.Contains(c.next, m.state):
								t.Fatalf("moved to %v; the table lists %v", m.state, c.next)
							}
							// What each state promises of the rest.
							switch m.state {
							case Starting, Running, Stopping, Failing:
								if m.proc == nil {
									t.Fatalf("%v without a program", m.state)
								}
							case Backoff:
								if m.proc != nil || m.timerC == nil {
									t.Fatalf("backoff with proc %v, timer %v", m.proc, m.timerC)
								}
							case Exiting, Stopped:
								if m.proc != nil && s != m.state {
									t.Fatalf("%v with a program", m.state)
								}
							}
							m.disarm()
						})
					})
				}
			}
		}
	}
}

// fakeProber passes the start tests when the test closes pass.
type fakeProber struct {
	mu     sync.Mutex
	pass   chan struct{}
	probes []int
	ctxs   []context.Context
}

func (f *fakeProber) Idle() {}

func (f *fakeProber) Probe(ctx context.Context, pid int, _ time.Time, _ func(int, time.Duration, int)) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probes = append(f.probes, pid)
	f.ctxs = append(f.ctxs, ctx)
	return f.pass
}

func TestStartTestsGateRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		pr := &fakeProber{pass: make(chan struct{})}
		m := New(testConfig(nil), f, Options{Prober: pr})
		codec := make(chan int, 1)
		go func() { codec <- m.Run(context.Background()) }()
		up := make(chan string, 1)
		go func() { up <- req(m, "await up 0") }()
		time.Sleep(time.Hour) // the grace period does not apply: only the tests
		synctest.Wait()
		if s := m.State(); s != Starting {
			t.Fatalf("state %v, want starting", s)
		}
		if st, _ := controlproto.ParseStatus(req(m, "status")); !st.Testing || st.Application != 100 {
			t.Fatalf("status while testing: %+v", st)
		}
		close(pr.pass)
		if st, _ := controlproto.ParseStatus(<-up); st.Testing || st.Application != 100 {
			t.Fatalf("await up: %+v", st)
		}
		req(m, "stop")
		if code := <-codec; code != 0 {
			t.Fatalf("exit %d", code)
		}
	})
}

func TestStartTestsCancelledOnExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		pr := &fakeProber{pass: make(chan struct{})}
		m := New(testConfig(nil), f, Options{Prober: pr})
		codec := make(chan int, 1)
		go func() { codec <- m.Run(context.Background()) }()
		synctest.Wait()
		f.last().exit(child.ExitStatus{Code: 1}) // crashes while being tested
		synctest.Wait()
		pr.mu.Lock()
		ctx := pr.ctxs[0]
		pr.mu.Unlock()
		if ctx.Err() == nil {
			t.Fatal("the start tests of a dead program still run")
		}
		req(m, "stop")
		<-codec
	})
}

// A client that goes away while it waits (its connection's context ends)
// is forgotten at once, whatever it waited for; the others keep waiting
// and are answered.
func TestAwaitClientGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		m, wait := run(t, testConfig(nil), f)
		time.Sleep(config.DefaultStartGrace)
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		gone := make(chan string, 256)
		for i := range 256 {
			line := "await down"
			if i%2 == 1 {
				line = "await up 100" // the running pid: waits for a restart
			}
			go func() {
				w := strings.Fields(line)
				gone <- m.Serve(ctx, control.Request{Line: line, Name: w[0], Args: w[1:]})
			}()
		}
		kept := make(chan string, 1)
		go func() { kept <- req(m, "await down") }()
		synctest.Wait()
		if n := m.waiterCount(); n != 257 {
			t.Fatalf("%d waiters, want 257", n)
		}
		cancel()
		for range 256 {
			if got := <-gone; got != "" {
				t.Fatalf("a cancelled await answered %q", got)
			}
		}
		synctest.Wait()
		if n := m.waiterCount(); n != 1 {
			t.Fatalf("%d waiters after the clients went away, want 1", n)
		}
		req(m, "stop")
		if st, ok := controlproto.ParseStatus(<-kept); !ok || st.Application != 0 {
			t.Fatalf("the remaining await down: %+v", st)
		}
		wait()
		if n := m.waiterCount(); n != -1 {
			t.Fatalf("waiterCount after exit: %d, want -1", n)
		}
	})
}

func TestStartErrorWording(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&os.PathError{Op: "open", Path: os.DevNull, Err: syscall.EMFILE}, "cannot start program: too many open files"},
		{fmt.Errorf("can't exec '/bin/x': %w", syscall.EMFILE), "cannot start program: too many open files"},
		{fmt.Errorf("can't exec '/bin/x': %w", syscall.EAGAIN), "cannot start program: resource temporarily unavailable"},
		{fmt.Errorf("can't exec '/bin/x': %w", syscall.ENOENT), "cannot start program: can't exec '/bin/x': no such file or directory"},
	} {
		if got := startError(tt.err); got != tt.want {
			t.Errorf("startError(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// history remembers each run: how it ended and the back-off after it; a
// crash loop's exits, then the stop.
func TestHistory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{life: 500 * time.Millisecond, code: 3}
		m, wait := run(t, testConfig(func(c *config.Config) { c.BackoffLimit = 10 }), f)
		// Runs at 0, 1.5 s (1 s back-off), 4 s (2 s back-off).
		time.Sleep(4200 * time.Millisecond)
		var h report.History
		if err := json.Unmarshal([]byte(req(m, "history")), &h); err != nil {
			t.Fatal(err)
		}
		if h.Schema != report.HistorySchema || h.Starts != 3 || len(h.Runs) != 3 {
			t.Fatalf("history %+v", h)
		}
		for i, wantDelay := range []float64{1, 2} {
			r := h.Runs[i]
			if r.Ended != report.EndedExit || r.ExitCode == nil || *r.ExitCode != 3 || r.NextDelaySeconds == nil || *r.NextDelaySeconds != wantDelay || r.RanSeconds != 0.5 {
				t.Errorf("run %d: %+v", i, r)
			}
		}
		if r := h.Runs[2]; r.Ended != report.EndedRunning || !r.End.IsZero() {
			t.Errorf("last run %+v", r)
		}
		var one struct{ Runs []report.Run }
		_ = json.Unmarshal([]byte(req(m, "history 1")), &one)
		if len(one.Runs) != 1 || one.Runs[0].Pid != h.Runs[2].Pid {
			t.Errorf("history 1: %+v", one)
		}
		if got := req(m, "history x"); got != "Bad count 'x'" {
			t.Errorf("history x: %q", got)
		}
		req(m, "stop")
		wait()
		info := m.info() // the loop is gone
		if info.LastExit == nil || info.LastExit.Ended != report.EndedStop || info.LastExit.Signal != "SIGTERM" || info.Starts != 3 || info.Restarts != 2 {
			t.Errorf("info %+v last %+v", info, info.LastExit)
		}
	})
}

// "status" is answered from the board, without the loop: while the loop
// is busy (here in a sweep that does not end) the status of its last
// step comes back at once; and after any reply about a step, status shows
// that step (the board was published before the reply).
func TestStatusWithoutTheLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		release := make(chan struct{})
		var sweeps int
		m := New(testConfig(nil), f, Options{Sweep: func() []int {
			sweeps++
			<-release
			return nil
		}})
		codec := make(chan int, 1)
		go func() { codec <- m.Run(context.Background()) }()
		up, _ := controlproto.ParseStatus(req(m, "await up 0"))
		if st, _ := controlproto.ParseStatus(req(m, "status")); !st.Running || st.Application != up.Application {
			t.Fatalf("status after await up: %+v, await said %+v", st, up)
		}
		// The restart's exit blocks the loop in the sweep before the
		// respawn: status still answers, with the last step's state.
		if got := req(m, "restart"); got != "Sent SIGTERM; will restart later" {
			t.Fatalf("restart: %q", got)
		}
		synctest.Wait()
		if sweeps != 1 {
			t.Fatalf("%d sweeps, want the loop blocked in one", sweeps)
		}
		if st, _ := controlproto.ParseStatus(req(m, "status")); !st.ShouldBeUp || st.Application != up.Application {
			t.Fatalf("status while the loop is busy: %+v", st)
		}
		// The accept loop's way: appended to its buffer, the same reply.
		quick, ok := m.AppendQuick([]byte("x"), control.Request{Line: "status", Name: "status"})
		if want := req(m, "status"); !ok || string(quick) != "x"+want {
			t.Fatalf("AppendQuick: %q, %v; Serve: %q", quick, ok, want)
		}
		if _, ok := m.AppendQuick(nil, control.Request{Line: "stop", Name: "stop"}); ok {
			t.Fatal("AppendQuick answered stop")
		}
		close(release)
		again, _ := controlproto.ParseStatus(req(m, fmt.Sprintf("await up %d", up.Application)))
		if st, _ := controlproto.ParseStatus(req(m, "status")); st.Application != again.Application || st.Application == up.Application {
			t.Fatalf("status after the restart: %+v, await said %+v", st, again)
		}
		if got := req(m, "stop"); got != "Sent SIGTERM" {
			t.Fatalf("stop: %q", got)
		}
		// Told "Sent SIGTERM": the status that follows says so.
		if reply := req(m, "status"); reply != "" {
			if st, _ := controlproto.ParseStatus(reply); st.ShouldBeUp {
				t.Fatalf("status after stop: %+v", st)
			}
		}
		if code := <-codec; code != 0 {
			t.Fatalf("exit code %d", code)
		}
		if got := req(m, "status"); got != "" {
			t.Fatalf("status after exit: %q", got)
		}
	})
}
