package controlproto

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func tempSock(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "zd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "sock")
}

func TestDoNoManager(t *testing.T) {
	_, err := Do(context.Background(), tempSock(t), "status")
	if !errors.Is(err, ErrNoManager) {
		t.Fatalf("error %v, want ErrNoManager", err)
	}
}

// A listener that takes the connection and never answers (a stopped
// manager) is "no answer" however the deadline fires: through ctx, or
// through the connection's own deadline a moment earlier.
func TestDoNoAnswerAtTheDeadline(t *testing.T) {
	path := tempSock(t)
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := Do(ctx, path, "status")
		cancel()
		if !errors.Is(err, ErrNoAnswer) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNoManager) {
			t.Fatalf("error %v, want ErrNoAnswer at the deadline", err)
		}
	}
}

func TestStatusFormat(t *testing.T) {
	s := Status{
		Running: true, Now: time.UnixMicro(1795485109811874), ShouldBeUp: true,
		LastTime: time.Unix(1795485107, 0), Application: 6521, Manager: 6518,
		BackoffLimit: 10, Filename: "/usr/bin/sleep", Args: []string{"sleep", "100"},
	}
	want := `status=running
now=1795485109.811874
should_be_up=1
delay=0
backoff=0
lasttime=1795485107.0
application=6521
testing=0
manager=6518
backofflimit=10
filename='/usr/bin/sleep'
args=['sleep', '100']
`
	if got := s.Format(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	back, ok := ParseStatus(want)
	if !ok {
		t.Fatal("not parsed")
	}
	s.Now, back.Now = time.Time{}, time.Time{}
	if diff := cmp.Diff(s, back); diff != "" {
		t.Fatalf("round trip (-want +got)\n%s", diff)
	}
	if _, ok := ParseStatus("Unknown command 'x'"); ok {
		t.Fatal("non-status parsed as status")
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add(Status{Running: true, Application: 7, Args: []string{"a", "b'c"}, Filename: "/x"}.Format())
	f.Add("application=1\nargs=['x'\n")
	f.Fuzz(func(t *testing.T, reply string) {
		st, ok := ParseStatus(reply)
		if !ok {
			return
		}
		// What parses formats and parses back to the same fields.
		back, ok := ParseStatus(st.Format())
		if !ok || back.Application != st.Application || back.Manager != st.Manager || back.Testing != st.Testing || back.ShouldBeUp != st.ShouldBeUp || len(back.Args) != len(st.Args) {
			t.Fatalf("%q -> %+v -> %+v", reply, st, back)
		}
	})
}

func TestIsUnknown(t *testing.T) {
	tests := []struct {
		reply string
		want  bool
	}{
		{ReplyUnknown("await"), true},
		{ReplyUnknown("plugins") + "\n", true},
		// The original's manager, verbatim.
		{"Unknown command 'await'; 'help' for a list\n", true},
		{"", false},
		{"status=running\napplication=7\n", false},
		{ReplySuperseded + "\n", false},
		{"Unknown command 'x'", false},
		{"Application started\n", false},
	}
	for _, tt := range tests {
		if got := IsUnknown(tt.reply); got != tt.want {
			t.Errorf("IsUnknown(%q) = %v, want %v", tt.reply, got, tt.want)
		}
	}
}

// FuzzParseUpgraded: the client's parser of the new manager's answer
// never panics, and reads back what UpgradeReply writes: each version
// with its white space (any Unicode space) made "_".
func FuzzParseUpgraded(f *testing.F) {
	f.Add(12, "v2", "v1")
	f.Add(0, "", "")
	f.Add(-1, "a=b", "c d")
	f.Add(-45, "\u2000", "0")
	f.Fuzz(func(t *testing.T, pid int, version, from string) {
		_, _ = ParseUpgraded(version + from)
		word := func(s string) string { return strings.Join(strings.Fields(s), "_") }
		got, ok := ParseUpgraded(UpgradeReply(pid, version, from))
		if !ok || got["pid"] != strconv.Itoa(pid) || got["version"] != word(version) || got["from"] != word(from) {
			t.Fatalf("UpgradeReply(%d, %q, %q) reads back as %v %v", pid, version, from, got, ok)
		}
	})
}
