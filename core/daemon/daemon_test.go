package daemon

import (
	"bufio"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
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
		{"none set", []string{"A=1"}, []string{"A=1", "GOMAXPROCS=1", procsAdded}, true},
		{"the caller's wins", []string{"GOMAXPROCS=4", "A=1"}, []string{"GOMAXPROCS=4", "A=1"}, false},
		{"empty", nil, []string{"GOMAXPROCS=1", procsAdded}, true},
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
