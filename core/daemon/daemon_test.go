package daemon

import (
	"bufio"
	"errors"
	"os"
	"slices"
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
