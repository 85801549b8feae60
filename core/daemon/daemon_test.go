package daemon

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
