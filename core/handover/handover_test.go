package handover

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func cloexec(t *testing.T, fd int) bool {
	t.Helper()
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatalf("fcntl %d: %v", fd, err)
	}
	return flags&unix.FD_CLOEXEC != 0
}

// A record written and inherited is read back whole: states, and the
// descriptors by name, inheritable only until the new manager took them.
func TestRoundTrip(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var reg Registry
	reg.Add("pipe", func(out *Out) error {
		out.File("pipe:read", r)
		out.File("pipe:write", w)
		return out.State("pipe", map[string]int{"size": 7})
	})
	out := NewOut("v1")
	if err := reg.Collect(out); err != nil {
		t.Fatal(err)
	}
	fd, undo, err := out.Inherit()
	if err != nil {
		t.Fatal(err)
	}
	rfd := out.Record().Files["pipe:read"]
	if cloexec(t, rfd) || cloexec(t, fd) {
		t.Fatal("inherited descriptors are still close-on-exec")
	}
	undo()
	if !cloexec(t, rfd) {
		t.Fatal("undo left the descriptor inheritable")
	}

	// As the new manager does, on descriptors that survived the execve.
	fd, _, err = out.Inherit()
	if err != nil {
		t.Fatal(err)
	}
	in, err := Read(fd)
	if err != nil {
		t.Fatal(err)
	}
	if in.From() != "v1" {
		t.Errorf("from %q", in.From())
	}
	var st map[string]int
	if ok, err := in.State("pipe", &st); !ok || err != nil || st["size"] != 7 {
		t.Errorf("state %v %v %v", st, ok, err)
	}
	if ok, _ := in.State("nothing", &st); ok {
		t.Error("a state that was not handed over")
	}
	got := in.File("pipe:write")
	if got == nil || !cloexec(t, int(got.Fd())) {
		t.Fatal("the write end was not taken over close-on-exec")
	}
	if _, err := got.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if in.File("pipe:write") != nil {
		t.Error("a descriptor taken twice")
	}
	if left := in.Close(); !reflect.DeepEqual(left, []string{"pipe:read"}) {
		t.Errorf("left over %v", left)
	}
	var nilIn *In
	if nilIn.File("x") != nil || nilIn.From() != "" || nilIn.Close() != nil {
		t.Error("a nil In has something")
	}
}

func TestCheck(t *testing.T) {
	known := Known("config", "manager", "control", "listen:")
	for _, tt := range []struct {
		name, record, want string
	}{
		{"current", `{"version":1,"parts":{"config":{},"manager":{}},"files":{"control":3,"listen:web":4}}`, ""},
		{"version 0", `{"version":0}`, "its state record has version 0; this manager reads versions 1 to 1"},
		{"newer", `{"version":2}`, "its state record has version 2; this manager reads versions 1 to 1"},
		{"unknown part", `{"version":1,"parts":{"zzz":{},"aaa":{}}}`, `this manager does not know the "aaa" that the running one hands over`},
		{"unknown file", `{"version":1,"files":{"listen":3}}`, `this manager does not know the "listen" that the running one hands over`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := ParseRecord(strings.NewReader(tt.record))
			if err != nil {
				t.Fatal(err)
			}
			err = rec.Check(known)
			if got := errString(err); got != tt.want {
				t.Errorf("Check: %q, want %q", got, tt.want)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// FuzzParseRecord: the check mode's parser never panics, and a record it
// reads survives its own encoding unchanged.
func FuzzParseRecord(f *testing.F) {
	f.Add(`{"version":1,"from":"v","parts":{"config":{"a":1}},"files":{"control":3}}`)
	f.Add(`{"version":99}`)
	f.Add(`[]`)
	f.Add(`{"files":{"x":-1}}`)
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseRecord(strings.NewReader(s))
		if err != nil {
			return
		}
		_ = rec.Check(Known("config", "listen:"))
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseRecord(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("its own encoding %s does not parse: %v", b, err)
		}
		b2, _ := json.Marshal(again)
		if !bytes.Equal(b, b2) {
			t.Fatalf("encoding changed: %s -> %s", b, b2)
		}
	})
}
