package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/zdaemon/zdaemon/core/config"
)

// TestMain lets the test binary be a manager: ZD_DAEMON_TEST=forward
// reads its hand-off and forwards it to itself as ZD_DAEMON_TEST=ready,
// which reads it again and reports ready with a warning naming the
// program it was handed.
func TestMain(m *testing.M) {
	switch os.Getenv("ZD_DAEMON_TEST") {
	case "forward":
		cfg, n, err := ReadHandoff()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Setenv("ZD_DAEMON_TEST", "ready")
		err = Forward(os.Args[0], []string{"--handoff"}, cfg, n)
		n.Fail(1, fmt.Sprint(err))
		os.Exit(1)
	case "stdio": // says where its stdio points and whether it leads a session
		_, n, err := ReadHandoff()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var where []string
		for fd := range 3 {
			p, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
			where = append(where, p)
		}
		sid, _ := unix.Getsid(0)
		n.Warn(fmt.Sprintf("%s leader=%v", strings.Join(where, " "), sid == os.Getpid()))
		n.Ready()
		os.Exit(3)
	case "ready":
		cfg, n, err := ReadHandoff()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		n.Warn(fmt.Sprintf("forwarded %q, pid %d", cfg.Program, os.Getpid()))
		n.Ready()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Forward hands the configuration and the notifier on: the manager the
// client spawned reports ready from the executable it became, with the
// configuration the client sent, in the same process.
func TestForwardKeepsTheHandoff(t *testing.T) {
	t.Setenv("ZD_DAEMON_TEST", "forward")
	cfg := config.Default()
	cfg.Program = []string{"sleep", "100"}
	m, err := Spawn(SpawnSpec{Exe: os.Args[0], Env: os.Environ()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var warns []string
	if err := m.Wait(func(s string) { warns = append(warns, s) }); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	want := fmt.Sprintf("forwarded [\"sleep\" \"100\"], pid %d", m.Pid)
	if len(warns) != 1 || warns[0] != want {
		t.Errorf("warnings %q, want %q", warns, want)
	}
	if err := m.Reap(); err != nil {
		t.Errorf("the manager: %v", err)
	}
}

// A detached manager leads a session of its own with stdio on /dev/null;
// Reap reports how it ended.
func TestSpawnDetached(t *testing.T) {
	t.Setenv("ZD_DAEMON_TEST", "stdio")
	m, err := Spawn(SpawnSpec{Exe: os.Args[0], Env: os.Environ(), Detach: true}, config.Default())
	if err != nil {
		t.Fatal(err)
	}
	var warns []string
	if err := m.Wait(func(s string) { warns = append(warns, s) }); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if want := "/dev/null /dev/null /dev/null leader=true"; len(warns) != 1 || warns[0] != want {
		t.Errorf("warnings %q, want %q", warns, want)
	}
	if err := m.Reap(); err == nil || err.Error() != fmt.Sprintf("the manager (pid %d) ended: exit status 3", m.Pid) {
		t.Errorf("Reap: %v", err)
	}
}

// A manager executable that cannot be run is an error naming it.
func TestSpawnErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ exe, want string }{
		{filepath.Join(dir, "missing"), "start manager: fork/exec " + filepath.Join(dir, "missing") + ": no such file or directory"},
		{plain, "start manager: fork/exec " + plain + ": permission denied"},
	} {
		m, err := Spawn(SpawnSpec{Exe: tt.exe, Env: os.Environ()}, config.Default())
		if err == nil {
			m.Reap()
			t.Fatalf("%s started", tt.exe)
		}
		if err.Error() != tt.want {
			t.Errorf("error %q, want %q", err, tt.want)
		}
	}
}
