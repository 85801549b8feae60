package daemon

import (
	"fmt"
	"os"
	"testing"

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
	want := fmt.Sprintf("forwarded [\"sleep\" \"100\"], pid %d", m.Cmd.Process.Pid)
	if len(warns) != 1 || warns[0] != want {
		t.Errorf("warnings %q, want %q", warns, want)
	}
	if err := m.Cmd.Wait(); err != nil {
		t.Errorf("the manager: %v", err)
	}
}
