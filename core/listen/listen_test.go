package listen

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseAddress(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{in: "127.0.0.1:8080", want: "127.0.0.1:8080"},
		{in: "0.0.0.0:80", want: "0.0.0.0:80"},
		{in: "[::1]:8080", want: "[::1]:8080"},
		{in: "[::]:443", want: "[::]:443"},
		{in: "[::ffff:127.0.0.1]:80", want: "127.0.0.1:80"},
		{in: "[fe80::1%lo]:80", want: "[fe80::1%lo]:80"},
		{in: "unix:/run/app.sock", want: "unix:/run/app.sock"},
		{in: "localhost:80", err: "not an IP address"},
		{in: "127.0.0.1", err: "is not HOST:PORT"},
		{in: "::1:80", err: "is not HOST:PORT"},
		{in: "[::1]80", err: "is not HOST:PORT"},
		{in: "127.0.0.1:0", err: "from 1 to 65535"},
		{in: "127.0.0.1:65536", err: "from 1 to 65535"},
		{in: "127.0.0.1:+80", err: "from 1 to 65535"},
		{in: "127.0.0.1:http", err: "from 1 to 65535"},
		{in: ":80", err: "not an IP address"},
		{in: "unix:", err: "needs a path"},
		{in: "unix:run/app.sock", err: "not absolute"},
		{in: "unix:/run/", err: "names a directory"},
		{in: "unix:/" + strings.Repeat("x", MaxPath), err: "the limit is 107"},
		{in: "unix:/a\x00b", err: "NUL"},
	} {
		a, err := ParseAddress(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q: error %v, want one saying %q", tt.in, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("%q: %v", tt.in, err)
		case tt.err == "" && a.String() != tt.want:
			t.Errorf("%q: %s, want %s", tt.in, a, tt.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"web", true}, {"http-1.v2_x", true}, {"", false}, {"a:b", false}, {"a b", false},
		{"tab\t", false}, {"é", false}, {strings.Repeat("n", 255), true}, {strings.Repeat("n", 256), false},
	} {
		if err := CheckName(tt.name); (err == nil) != tt.ok {
			t.Errorf("%q: %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestEnv(t *testing.T) {
	got := strings.Join(Env([]string{"web", "admin"}), " ")
	if got != "LISTEN_FDS=2 LISTEN_FDNAMES=web:admin" {
		t.Errorf("env %q", got)
	}
}

// freePort finds a TCP port nobody listens on just now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// A bound TCP socket listens (connections queue with nobody accepting),
// is blocking, survives in the Set while nobody accepts, and is free again
// after Close; a second Bind of the same address is ErrInUse.
func TestBindTCP(t *testing.T) {
	addr := "127.0.0.1:" + freePort(t)
	set, err := Bind([]Spec{{Name: "web", Address: addr, Backlog: 8}})
	if err != nil {
		t.Fatal(err)
	}
	f := set.Files()[0]
	fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_NONBLOCK != 0 {
		t.Errorf("flags %#x, %v: want a blocking socket, as sd_listen_fds passes it", fl, err)
	}
	c, err := net.Dial("tcp", addr) // queued in the backlog
	if err != nil {
		t.Fatalf("connect while nobody accepts: %v", err)
	}
	c.Close()
	if err := CheckFree(Spec{Name: "x", Address: addr}); !errors.Is(err, ErrInUse) {
		t.Errorf("CheckFree of a held address: %v, want ErrInUse", err)
	}
	_, err = Bind([]Spec{{Name: "again", Address: addr}})
	var be *BindError
	if !errors.As(err, &be) || be.Index != 0 || !errors.Is(err, ErrInUse) {
		t.Errorf("second bind: %v", err)
	}
	if set.Names()[0] != "web" {
		t.Errorf("names %v", set.Names())
	}
	if err := set.Close(); err != nil {
		t.Fatal(err)
	}
	if err := set.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := CheckFree(Spec{Name: "x", Address: addr}); err != nil {
		t.Errorf("after close: %v", err)
	}
}

// The second spec failing closes the first again, and names the second.
func TestBindFailsAtomically(t *testing.T) {
	a, b := "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t)
	hold, err := Bind([]Spec{{Name: "b", Address: b}})
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	_, err = Bind([]Spec{{Name: "a", Address: a}, {Name: "b", Address: b}})
	var be *BindError
	if !errors.As(err, &be) || be.Index != 1 || be.Spec.Name != "b" {
		t.Fatalf("error %v", err)
	}
	if !strings.Contains(err.Error(), `listen "b": cannot listen on `+b+": the address is already in use") {
		t.Errorf("message %q", err)
	}
	if err := CheckFree(Spec{Address: a}); err != nil {
		t.Errorf("the first socket stayed bound: %v", err)
	}
}

// Unix sockets: bound at the path, a stale socket of ours replaced, a
// live one or anything that is not a socket left alone, the file removed
// by Close (only while it is ours).
func TestBindUnix(t *testing.T) {
	dir, err := os.MkdirTemp("", "zdl")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "s")
	spec := Spec{Name: "u", Address: "unix:" + path}

	// A stale socket (bound, then its listener gone) is replaced.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	set, err := Bind([]Spec{spec})
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	c.Close()
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Perm() != DefaultMode {
		t.Errorf("mode %v, %v: want %o whatever the umask", fi.Mode(), err, DefaultMode)
	}
	if err := CheckFree(spec); !errors.Is(err, ErrInUse) {
		t.Errorf("CheckFree of a held path: %v", err)
	}
	if _, err := Bind([]Spec{spec}); !errors.Is(err, ErrInUse) {
		t.Errorf("second bind: %v", err)
	}
	set.Close()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after close: %v", err)
	}

	// A regular file is never replaced.
	if err := os.WriteFile(path, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Bind([]Spec{spec}); err == nil || !strings.Contains(err.Error(), "is not a socket; it was left alone") {
		t.Errorf("over a file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "data" {
		t.Errorf("the file was changed: %q", b)
	}
	os.Remove(path)

	// The job's mode.
	set, err = Bind([]Spec{{Name: "u", Address: "unix:" + path, Mode: 0o600}})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v: want 0600", fi.Mode(), err)
	}
	set.Close()

	// A socket file replaced under us is not removed by Close.
	set, err = Bind([]Spec{spec})
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	os.WriteFile(path, []byte("someone else's"), 0o644)
	set.Close()
	if b, _ := os.ReadFile(path); string(b) != "someone else's" {
		t.Errorf("close removed a file that is not ours: %q", b)
	}
}

// Adopt takes the descriptors of a Set (as a new manager would inherit
// them) and checks they are what the specs say.
func TestAdopt(t *testing.T) {
	addr := "127.0.0.1:" + freePort(t)
	specs := []Spec{{Name: "web", Address: addr}}
	set, err := Bind(specs)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	dup := func() *os.File {
		fd, err := unix.Dup(int(set.Files()[0].Fd()))
		if err != nil {
			t.Fatal(err)
		}
		return os.NewFile(uintptr(fd), "dup")
	}
	adopted, err := Adopt(specs, []*os.File{dup()})
	if err != nil {
		t.Fatal(err)
	}
	adopted.Close()
	other := "127.0.0.1:" + freePort(t)
	f := dup()
	defer f.Close()
	if _, err := Adopt([]Spec{{Name: "web", Address: other}}, []*os.File{f}); err == nil || !strings.Contains(err.Error(), "listens on "+addr+", not on "+other) {
		t.Errorf("adopt at another address: %v", err)
	}
	if _, err := Adopt(specs, nil); err == nil {
		t.Error("adopt without descriptors")
	}
	r, w, _ := os.Pipe()
	defer w.Close()
	defer r.Close()
	if _, err := Adopt(specs, []*os.File{r}); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("adopt a pipe: %v", err)
	}
}

// FuzzParseAddress: never panics, and what parses prints back to an
// address that parses to the same.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8080", "[::1]:80", "unix:/run/x.sock", "[fe80::1%eth0]:1", "", "unix:", "1.2.3.4:65535"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		b, err := ParseAddress(a.String())
		if err != nil || b != a {
			t.Fatalf("%q parsed to %v, which parses to %v, %v", s, a, b, err)
		}
	})
}
