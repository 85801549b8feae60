package child

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Runs is true for a live process, false for one that has ended: reaped,
// or a zombie its parent has not reaped yet (kill(pid, 0) finds that one).
func TestRuns(t *testing.T) {
	reaped := exec.Command("true")
	if err := reaped.Run(); err != nil {
		t.Fatal(err)
	}
	zombie := exec.Command("true")
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	defer zombie.Wait()
	// It is a zombie once its stat says so; bounded, as it may take a
	// moment to exit on a loaded machine.
	deadline := time.Now().Add(10 * time.Second)
	for !isZombie(t, zombie.Process.Pid) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d is no zombie after 10 s", zombie.Process.Pid)
		}
		time.Sleep(time.Millisecond)
	}
	tests := []struct {
		name string
		pid  int
		want bool
	}{
		{"this process", os.Getpid(), true},
		{"reaped", reaped.Process.Pid, false},
		{"a zombie", zombie.Process.Pid, false},
		{"no such pid", 1 << 30, false},
	}
	for _, tt := range tests {
		if got := Runs(tt.pid); got != tt.want {
			t.Errorf("%s: Runs(%d) = %v, want %v", tt.name, tt.pid, got, tt.want)
		}
	}
}

// isZombie reads pid's state from its stat, without parseStat.
func isZombie(t *testing.T, pid int) bool {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(f) > 0 && f[0] == "Z"
}
