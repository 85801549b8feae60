package manager

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/control"
	"github.com/zdaemon/zdaemon/core/controlproto"
)

// fakeUpgrader records what the manager hands over; its execve always
// fails (the manager must then go on).
type fakeUpgrader struct {
	checkErr error
	// during runs in Exec before the snapshot is taken (a signal that
	// arrives meanwhile).
	during  func()
	checked int
	paused  int
	resumed int
	snaps   []Handover
}

func (u *fakeUpgrader) Check(context.Context) error { u.checked++; return u.checkErr }

func (u *fakeUpgrader) Pause(context.Context) func() { u.paused++; return func() { u.resumed++ } }

func (u *fakeUpgrader) Exec(_ context.Context, snapshot func() Handover) error {
	if u.during != nil {
		u.during()
	}
	u.snaps = append(u.snaps, snapshot())
	return errors.New("execve /x/zdrun: exec format error")
}

// restored runs a manager that takes over snap, with the program of pid
// snap.Pid adopted as a fakeProc of f.
func restored(t *testing.T, cfg *config.Config, f *fakeStarter, snap Handover) (*Manager, *fakeProc, func() int) {
	t.Helper()
	adopted := &fakeProc{pid: snap.Pid, done: make(chan child.ExitStatus, 1), f: f}
	m := New(cfg, f, Options{Restore: &snap, Adopt: func(pid int) Proc {
		if pid != snap.Pid {
			t.Errorf("adopted pid %d, want %d", pid, snap.Pid)
		}
		return adopted
	}})
	codec := make(chan int, 1)
	go func() { codec <- m.Run(context.Background()) }()
	return m, adopted, func() int { return <-codec }
}

func statusOf(t *testing.T, m *Manager) controlproto.Status {
	t.Helper()
	s, ok := controlproto.ParseStatus(req(m, "status"))
	if !ok {
		t.Fatal("status reply does not parse")
	}
	return s
}

// An upgrade of a running program hands over its pid, start time and
// back-off; a failed execve leaves the manager as it was; the next
// manager takes the state over and supervises the adopted program.
func TestUpgradeRunningProgram(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		u := &fakeUpgrader{}
		m := New(testConfig(nil), f, Options{Upgrader: u})
		codec := make(chan int, 1)
		go func() { codec <- m.Run(context.Background()) }()
		time.Sleep(config.DefaultStartGrace)
		synctest.Wait()
		before := statusOf(t, m)
		if got, want := req(m, "upgrade"), "Cannot upgrade: execve /x/zdrun: exec format error"; got != want {
			t.Fatalf("upgrade: %q, want %q", got, want)
		}
		if s := m.State(); s != Running || u.checked != 1 || len(u.snaps) != 1 || u.paused != 1 || u.resumed != 1 {
			t.Fatalf("after a failed execve: state %v, %d checks, %d snapshots", s, u.checked, len(u.snaps))
		}
		snap := u.snaps[0]
		want := Handover{State: "running", Pid: 100, Started: before.LastTime, ShouldBeUp: true}
		if !snap.Started.Equal(want.Started) || snap.State != want.State || snap.Pid != want.Pid || !snap.ShouldBeUp || snap.Signals != nil {
			t.Fatalf("snapshot %+v, want %+v", snap, want)
		}
		req(m, "stop")
		if code := <-codec; code != 0 {
			t.Fatalf("old manager exit %d", code)
		}

		f2 := &fakeStarter{}
		m2, adopted, wait := restored(t, testConfig(nil), f2, snap)
		synctest.Wait()
		after := statusOf(t, m2)
		if s := m2.State(); s != Running || after.Application != 100 || !after.LastTime.Equal(before.LastTime) || len(f2.starts) != 0 {
			t.Fatalf("restored: state %v, status %+v, %d starts", s, after, len(f2.starts))
		}
		if got := req(m2, "stop"); got != "Sent SIGTERM" {
			t.Fatalf("stop: %q", got)
		}
		if code := wait(); code != 0 || len(adopted.got()) == 0 || adopted.got()[0] != syscall.SIGTERM {
			t.Fatalf("exit %d, adopted program got %v", code, adopted.got())
		}
	})
}

// A program waiting in back-off is started by the next manager when the
// back-off ends, as it would have been by the old one.
func TestUpgradeInBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{life: time.Millisecond, code: 1}
		u := &fakeUpgrader{}
		m := New(testConfig(nil), f, Options{Upgrader: u})
		codec := make(chan int, 1)
		go func() { codec <- m.Run(context.Background()) }()
		time.Sleep(10 * time.Millisecond) // first exit: back-off of 1 s
		synctest.Wait()
		req(m, "upgrade")
		snap := u.snaps[0]
		if snap.State != "backoff" || snap.Backoff != 1 || snap.Restart.IsZero() {
			t.Fatalf("snapshot %+v", snap)
		}
		req(m, "stop")
		<-codec

		f2 := &fakeStarter{}
		m2, _, wait := restored(t, testConfig(nil), f2, snap)
		synctest.Wait()
		if s := m2.State(); s != Backoff || statusOf(t, m2).Backoff != 1 {
			t.Fatalf("restored: state %v", s)
		}
		time.Sleep(time.Until(snap.Restart) + time.Millisecond)
		synctest.Wait()
		if len(f2.starts) != 1 || f2.starts[0].Before(snap.Restart) {
			t.Fatalf("starts %v, want one at %v", f2.starts, snap.Restart)
		}
		req(m2, "stop")
		wait()
	})
}

// Refusals: while the program starts (the check is not even asked), and
// when the new executable says no; the manager goes on.
func TestUpgradeRefusals(t *testing.T) {
	for _, tt := range []struct {
		name      string
		settle    time.Duration
		checkErr  error
		want      string
		wantCheck int
	}{
		{"starting", 0, nil, "Cannot upgrade: the program is starting; try again once it is up", 0},
		{"check refuses", config.DefaultStartGrace, errors.New("the new manager /x cannot take over: no"), "Cannot upgrade: the new manager /x cannot take over: no", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				u := &fakeUpgrader{checkErr: tt.checkErr}
				m := New(testConfig(nil), &fakeStarter{}, Options{Upgrader: u})
				codec := make(chan int, 1)
				go func() { codec <- m.Run(context.Background()) }()
				time.Sleep(tt.settle)
				synctest.Wait()
				if got := req(m, "upgrade"); got != tt.want || u.checked != tt.wantCheck || len(u.snaps) != 0 {
					t.Errorf("upgrade: %q (%d checks, %d execs), want %q", got, u.checked, len(u.snaps), tt.want)
				}
				req(m, "stop")
				<-codec
			})
		})
	}
	m := New(testConfig(nil), &fakeStarter{}, Options{})
	if got := m.Serve(context.Background(), control.Request{Name: "upgrade"}); !strings.HasPrefix(got, controlproto.ReplyCannotUpgrade) {
		t.Errorf("without an upgrader: %q", got)
	}
}

// A shutdown signal that arrives during the upgrade is in the snapshot
// (the next manager acts on it), and, when the execve failed, is acted on
// by this one: never lost.
func TestUpgradeKeepsSignals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var m *Manager
		u := &fakeUpgrader{}
		u.during = func() { m.Shutdown(syscall.SIGTERM) }
		f := &fakeStarter{}
		m = New(testConfig(nil), f, Options{Upgrader: u})
		codec := make(chan int, 1)
		go func() { codec <- m.Run(context.Background()) }()
		time.Sleep(config.DefaultStartGrace)
		synctest.Wait()
		req(m, "upgrade")
		if got := u.snaps[0].Signals; len(got) != 1 || got[0] != int(syscall.SIGTERM) {
			t.Fatalf("snapshot signals %v", got)
		}
		if code := <-codec; code != 143 || f.last().got()[0] != syscall.SIGTERM {
			t.Fatalf("exit %d, program got %v: the SIGTERM was not acted on", code, f.last().got())
		}

		f2 := &fakeStarter{}
		_, adopted, wait := restored(t, testConfig(nil), f2, u.snaps[0])
		if code := wait(); code != 143 || adopted.got()[0] != syscall.SIGTERM {
			t.Fatalf("restored manager: exit %d, adopted program got %v", code, adopted.got())
		}
	})
}
