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

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/controlproto"
)

// fakeReloader records Begin and finishes Wait when the test says so.
type fakeReloader struct {
	mu     sync.Mutex
	events []string
	done   chan struct{}
}

func (r *fakeReloader) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, s)
}

func (r *fakeReloader) Begin() { r.note("begin") }

func (r *fakeReloader) Wait(ctx context.Context) error {
	r.note("wait")
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// running starts a manager with opts and waits until its program is up.
func running(t *testing.T, cfg *config.Config, opts Options) (*Manager, *fakeStarter, func() int) {
	t.Helper()
	f := &fakeStarter{}
	m := New(cfg, f, opts)
	codec := make(chan int, 1)
	go func() { codec <- m.Run(context.Background()) }()
	time.Sleep(config.DefaultStartGrace)
	synctest.Wait()
	if s := m.State(); s != Running {
		t.Fatalf("state %v, want running", s)
	}
	return m, f, func() int { return <-codec }
}

func TestReloadSendsReloadSignal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(func(c *config.Config) { c.ReloadSignal = syscall.SIGUSR2 })
		m, f, wait := running(t, cfg, Options{})
		if got := req(m, "reload"); got != "Sent SIGUSR2 to pid 100" {
			t.Fatalf("reload: %q", got)
		}
		if got := f.last().got(); len(got) != 1 || got[0] != syscall.SIGUSR2 {
			t.Fatalf("signals %v, want one SIGUSR2", got)
		}
		if got := req(m, "reload x"); got != "Bad timeout 'x'" {
			t.Errorf("bad argument: %q", got)
		}
		req(m, "stop")
		wait()
	})
}

func TestReloadNotRunningOrStarting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		m, wait := run(t, testConfig(nil), f)
		synctest.Wait()
		if got := req(m, "reload"); got != controlproto.ReplyReloadStarting {
			t.Errorf("while starting: %q", got)
		}
		time.Sleep(config.DefaultStartGrace)
		f.last().exit(child.ExitStatus{Code: 1})
		synctest.Wait()
		if got := req(m, "reload"); got != controlproto.ReplyNotRunning {
			t.Errorf("in back-off: %q", got)
		}
		if got := f.last().got(); len(got) != 0 {
			t.Errorf("signals %v, want none", got)
		}
		req(m, "stop")
		wait()
	})
}

// With a Reloader: Begin before the signal, the reply once Wait returns;
// a second reload meanwhile is refused; no report within the timeout is
// "timed out", the program's exit ends the wait.
func TestReloadFollowsTheProgram(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rl := &fakeReloader{done: make(chan struct{})}
		m, f, wait := running(t, testConfig(nil), Options{Reloader: rl})
		reply := make(chan string, 1)
		go func() { reply <- req(m, "reload 5000") }()
		synctest.Wait()
		if got := req(m, "reload"); got != controlproto.ReplyReloadBusy {
			t.Errorf("second reload: %q", got)
		}
		close(rl.done)
		if got := <-reply; got != "Sent SIGHUP to pid 100\n"+controlproto.ReplyReloaded {
			t.Errorf("reload: %q", got)
		}
		if got := strings.Join(rl.events, ","); got != "begin,wait" {
			t.Errorf("reloader calls %s", got)
		}

		rl.done = make(chan struct{})
		start := time.Now()
		if got := req(m, "reload 2000"); got != "Sent SIGHUP to pid 100\n"+controlproto.ReplyReloadTimeout {
			t.Errorf("timed out: %q", got)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("gave up after %v, want 2s", d)
		}

		go func() { reply <- req(m, "reload") }()
		synctest.Wait()
		f.last().exit(child.ExitStatus{Code: -1, Signal: syscall.SIGSEGV})
		if got := <-reply; got != "Sent SIGHUP to pid 100\n"+controlproto.ReplyReloadExited {
			t.Errorf("program exited: %q", got)
		}
		if got := f.last().got(); len(got) != 3 {
			t.Errorf("signals %v, want three SIGHUPs", got)
		}
		req(m, "stop")
		wait()
	})
}

// stop-signal is what stop, restart and the manager's shutdown send.
func TestStopSignal(t *testing.T) {
	for _, how := range []string{"stop", "restart", "shutdown"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig(func(c *config.Config) { c.StopSignal = syscall.SIGQUIT; c.StopTimeout = time.Second })
				m, f, wait := running(t, cfg, Options{})
				p := f.last()
				if how == "shutdown" {
					m.Shutdown(syscall.SIGTERM)
				} else {
					req(m, how)
				}
				time.Sleep(2 * time.Second) // the fake ignores QUIT: SIGKILL after stop-timeout
				synctest.Wait()
				// (then the group's SIGKILL once it is gone)
				if got := p.got(); len(got) < 2 || got[0] != syscall.SIGQUIT || got[1] != syscall.SIGKILL || slices.Contains(got, syscall.SIGTERM) {
					t.Errorf("signals %v, want SIGQUIT then SIGKILL, no SIGTERM", got)
				}
				if how == "restart" {
					req(m, "stop")
					time.Sleep(2 * time.Second)
				}
				wait()
			})
		})
	}
}
