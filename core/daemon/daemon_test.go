package daemon

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zdaemon/zdaemon/core/config"
)

// The start-up messages a manager sends reach the client's Wait as they
// were sent: warnings in order, then ready, a fatal error, or "in use".
func TestHandoffMessages(t *testing.T) {
	tests := []struct {
		name  string
		send  func(*Notifier)
		warns []string
		err   error // nil: ready; a *StartupError is compared by value
		inUse bool
	}{
		{"ready", func(n *Notifier) { n.Warn("w1"); n.Warn("two\nlines"); n.Ready() }, []string{"w1", "two\nlines"}, nil, false},
		{"error", func(n *Notifier) { n.Fail(2, "Error: bad") }, nil, &StartupError{Code: 2, Msg: "Error: bad"}, false},
		{"in use", func(n *Notifier) { n.InUse(1, "Another zrdun is already up using socket 's':\nstatus=running") },
			nil, &StartupError{Code: 1, Msg: "Another zrdun is already up using socket 's':\nstatus=running", InUse: true}, true},
		{"error at a setting", func(n *Notifier) { n.FailAt(1, "listen/0/address", "Error: listen \"web\": in use") }, nil,
			&StartupError{Code: 1, Msg: "Error: listen \"web\": in use", Source: "listen/0/address"}, false},
		{"silent exit", func(n *Notifier) { n.close() }, nil, ErrNotReady, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			tt.send(&Notifier{w: w})
			m := &Manager{notify: bufio.NewReader(r), nf: r}
			var warns []string
			err = m.Wait(func(s string) { warns = append(warns, s) })
			if !slices.Equal(warns, tt.warns) {
				t.Errorf("warnings %q, want %q", warns, tt.warns)
			}
			if got := errors.Is(err, ErrInUse); got != tt.inUse {
				t.Errorf("errors.Is(%v, ErrInUse) = %v, want %v", err, got, tt.inUse)
			}
			var got, want *StartupError
			switch {
			case errors.As(tt.err, &want):
				if !errors.As(err, &got) || *got != *want {
					t.Errorf("error %#v, want %#v", err, want)
				}
			case !errors.Is(err, tt.err) || (tt.err == nil && err != nil):
				t.Errorf("error %v, want %v", err, tt.err)
			}
		})
	}
}

// After ready, the hand-off carries the manager's word that the program
// is up: AwaitUp returns its status text, whatever came in the same read
// as "ready" or in pieces; a hand-off that ends without it is ErrNotUp.
func TestHandoffUp(t *testing.T) {
	status := "program running; pid=42\nsecond line"
	tests := []struct {
		name string
		send func(n *Notifier, w *os.File, tick <-chan struct{})
		want string
		err  error
	}{
		{"up", func(n *Notifier, _ *os.File, _ <-chan struct{}) { n.Ready(); n.Up(status) }, status, nil},
		{"exits first", func(n *Notifier, _ *os.File, _ <-chan struct{}) { n.Ready(); n.Up("") }, "", ErrNotUp},
		{"closed (an upgrade's exec)", func(n *Notifier, _ *os.File, _ <-chan struct{}) { n.Ready(); n.Close() }, "", ErrNotUp},
		{"a word we do not know, then up", func(n *Notifier, _ *os.File, _ <-chan struct{}) {
			n.Ready()
			n.send("later-word x")
			n.Up(status)
		}, status, nil},
		{"after two ticks, the line in two pieces across a tick", func(n *Notifier, w *os.File, tick <-chan struct{}) {
			n.Ready()
			<-tick
			<-tick
			line := "up " + strconv.Quote(status) + "\n"
			_, _ = w.WriteString(line[:7])
			<-tick
			_, _ = w.WriteString(line[7:])
			n.Close()
		}, status, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			m := &Manager{notify: bufio.NewReader(r), nf: r}
			ticks := make(chan struct{}, 100)
			done := make(chan struct{})
			go func() { defer close(done); tt.send(&Notifier{w: w}, w, ticks) }()
			if err := m.Wait(func(string) {}); err != nil {
				t.Fatalf("Wait: %v", err)
			}
			got, err := m.AwaitUp(context.Background(), time.Millisecond, func() { ticks <- struct{}{} })
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("AwaitUp = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
			m.Close()
			<-done
		})
	}
}

// A wait on the hand-off ends when its context does (Ctrl-C, the start's
// deadline), though the manager says nothing.
func TestHandoffUpCancelled(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	m := &Manager{notify: bufio.NewReader(r), nf: r}
	defer m.Close()
	(&Notifier{w: w}).Ready()
	if err := m.Wait(func(string) {}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ticked := make(chan struct{}, 1)
	go func() {
		<-ticked // waiting for sure
		cancel()
	}()
	got, err := m.AwaitUp(ctx, time.Millisecond, func() {
		select {
		case ticked <- struct{}{}:
		default:
		}
	})
	if got != "" || !errors.Is(err, context.Canceled) {
		t.Fatalf("AwaitUp = %q, %v; want context.Canceled", got, err)
	}
}

// A manager starts on one P unless the caller's environment says
// otherwise, and takes its GOMAXPROCS away again before anything inherits
// its environment.
func TestManagerEnv(t *testing.T) {
	tests := []struct {
		name     string
		env      []string
		want     []string
		restored bool
	}{
		{"none set", []string{"A=1"}, []string{"A=1", "GOMAXPROCS=2", procsAdded}, true},
		{"the caller's wins", []string{"GOMAXPROCS=4", "A=1"}, []string{"GOMAXPROCS=4", "A=1"}, false},
		{"empty", nil, []string{"GOMAXPROCS=2", procsAdded}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := managerEnv(tt.env)
			if !slices.Equal(env, tt.want) {
				t.Fatalf("managerEnv(%q) = %q, want %q", tt.env, env, tt.want)
			}
			for _, kv := range []string{"GOMAXPROCS", "ZDAEMON_GOMAXPROCS"} {
				t.Setenv(kv, "") // restored after the test
				os.Unsetenv(kv)
			}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				if strings.Contains(k, "GOMAXPROCS") {
					os.Setenv(k, v)
				}
			}
			if got := RestoreEnv(); got != tt.restored {
				t.Errorf("RestoreEnv() = %v, want %v", got, tt.restored)
			}
			if _, ok := os.LookupEnv("ZDAEMON_GOMAXPROCS"); ok {
				t.Error("the marker is still set")
			}
			if _, ok := os.LookupEnv("GOMAXPROCS"); ok == tt.restored {
				t.Errorf("GOMAXPROCS set: %v, want %v", ok, !tt.restored)
			}
		})
	}
}

// A job with plugins goes straight to zdrun-plugins when it is beside
// zdrun; without it, and for a job without plugins, zdrun it is.
func TestManagerFor(t *testing.T) {
	with, without := t.TempDir(), t.TempDir()
	for _, dir := range []string{with, without} {
		if err := os.WriteFile(filepath.Join(dir, "zdrun"), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(with, PluginsName), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	plain := config.Default()
	tested := config.Default()
	tested.StartTest = &config.CheckConfig{PluginConfig: config.PluginConfig{Kind: "program"}}
	tests := []struct {
		name, dir string
		cfg       *config.Config
		want      string
	}{
		{"plugins, zdrun-plugins there", with, tested, PluginsName},
		{"plugins, zdrun-plugins missing", without, tested, "zdrun"},
		{"no plugins", with, plain, "zdrun"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := managerFor(filepath.Join(tt.dir, "zdrun"), tt.cfg); got != filepath.Join(tt.dir, tt.want) {
				t.Errorf("managerFor = %s, want %s", got, filepath.Join(tt.dir, tt.want))
			}
		})
	}
}
