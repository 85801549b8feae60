package main

import (
	"os/exec"
	"strings"
	"testing"
)

// zdexec stays minimal: the standard library's runtime, os, strconv and
// syscall, nothing that would make it slower to start (no fmt, net,
// os/exec, no package of zdaemon or anyone else).
func TestTrampolineDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case pkg == "github.com/zdaemon/zdaemon/cmd/zdexec":
		case strings.Contains(strings.Split(pkg, "/")[0], "."):
			t.Errorf("zdexec links %s, outside the standard library", pkg)
		case pkg == "fmt" || pkg == "os/exec" || strings.HasPrefix(pkg, "net") || pkg == "reflect":
			t.Errorf("zdexec links %s", pkg)
		}
	}
}

// Wrong arguments: the usage, exit 2, nothing executed.
func TestTrampolineUsage(t *testing.T) {
	bin := t.TempDir() + "/zdexec"
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, args := range [][]string{{}, {"3", "LISTEN_PID", "/bin/true"}, {"x", "LISTEN_PID", "/bin/true", "true"}, {"1", "LISTEN_PID", "/bin/true", "true"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "zdexec") {
			t.Errorf("%q: %v, %q; want exit 2 and a message", args, err, out)
		}
	}
}
