package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer a process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventlog { format = "json" } writes one JSON object a line, for log
// shippers, through a whole start and stop of the real binaries.
func TestEventlogJSON(t *testing.T) {
	j := newJob(t)
	conf := j.write("job.hcl", `runner {
  program     = "sleep 100"
  socket-name = "zdsock"
}
eventlog {
  format = "json"
  logfile {
    path = "events.log"
  }
}
`)
	j.must(0, "-C", conf, "start")
	j.must(0, "-C", conf, "stop")
	data, err := os.ReadFile(j.path("events.log"))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON line: %q (%v)", line, err)
		}
		if rec["logger"] != "root" || rec["level"] == nil || rec["time"] == nil {
			t.Errorf("record %v", rec)
		}
		msgs = append(msgs, rec["msg"].(string))
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"daemon manager started", "spawned process pid=", "Exiting"} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q among the records:\n%s", want, all)
		}
	}
	// A bad format is a config error with its place, at validate and start.
	bad := j.write("bad.hcl", "runner {\n  program = \"sleep 100\"\n}\neventlog {\n  format = \"xml\"\n}\n")
	for _, args := range [][]string{{"validate", bad}, {"-C", bad, "start"}} {
		r := j.run(args...)
		if r.code != 2 || !strings.Contains(r.err, "bad.hcl:5:12") || !strings.Contains(r.err, `format must be "text"`) {
			t.Errorf("%v: exit %d, %q", args, r.code, r.err)
		}
	}
}

// childrenOfPid lists pid's children (from /proc/PID/task/*/children).
func childrenOfPid(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		data, _ := os.ReadFile(f)
		for _, w := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(w); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// procState is the state letter of pid ("Z" for a zombie), "" when gone.
func procState(pid int) string {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// "zdaemon run" as a container's init, pid 1 of a new pid namespace: the
// program's output reaches its stdout, 50 grandchildren the program
// orphans are all reaped (no zombie is left), status answers (the
// readiness probe), and SIGTERM, as docker stop sends it, stops the job
// within stop-timeout; the exit status is the program's (143: it died of
// the SIGTERM).
func TestContainerInit(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("SKIPPED: unshare(1) is not installed (util-linux)")
	}
	if out, err := exec.Command(unshare, "--pid", "--fork", "--mount-proc", "true").CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: cannot create a pid namespace here (needs root): %v %s", err, out)
	}
	j := newJob(t)
	prog := j.write("orphans.sh", `#!/bin/sh
i=0
while [ $i -lt 50 ]; do (sleep 0.3 &) ; i=$((i+1)); done
echo "made 50 orphans"
exec sleep 1000
`)
	os.Chmod(prog, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "--pid", "--fork", "--mount-proc", zdaemonBin,
		"-p", prog, "-s", "zdsock", "run")
	cmd.Dir = j.dir
	cmd.Env = append(os.Environ(), "ZD_TEST_JOB="+j.dir)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-done
	}()
	eventually(t, 30*time.Second, "the program's output on run's stdout", func() bool {
		return strings.Contains(out.String(), "made 50 orphans\n")
	})
	var init int
	eventually(t, 10*time.Second, "pid 1 of the namespace", func() bool {
		kids := childrenOfPid(cmd.Process.Pid)
		if len(kids) == 1 {
			init = kids[0]
		}
		return init != 0
	})
	if nspid := nsPid(init); nspid != "1" {
		t.Fatalf("the manager is pid %s in its namespace, want 1", nspid)
	}
	// Every orphan exits 0.3 s after it was made and must be reaped: in
	// the end pid 1 has one child, the program, and no zombie.
	eventually(t, 30*time.Second, "the 50 orphans reaped", func() bool {
		kids := childrenOfPid(init)
		for _, k := range kids {
			if procState(k) == "Z" {
				return false
			}
		}
		return len(kids) == 1
	})
	j.must(0, "-p", prog, "-s", "zdsock", "status")
	if err := syscall.Kill(init, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 143 {
			t.Errorf("run after SIGTERM: %v, want exit status 143; stderr %q", err, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("SIGTERM did not stop the job")
	}
}

// nsPid is pid's pid in the innermost pid namespace (NSpid's last field).
func nsPid(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(rest)
			return f[len(f)-1]
		}
	}
	return ""
}

// "zdaemon run" with a transcript writes the program's output there, not
// on its stdout; the manager's own messages stay on its stderr.
func TestRunTranscript(t *testing.T) {
	j := newJob(t)
	prog := j.write("talk.sh", "#!/bin/sh\necho to-the-transcript\nexec sleep 1000\n")
	os.Chmod(prog, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, zdaemonBin, "-p", prog, "-s", "zdsock", "-t", "out.log", "run")
	cmd.Dir = j.dir
	cmd.Env = append(os.Environ(), "ZD_TEST_JOB="+j.dir)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	eventually(t, 30*time.Second, "the transcript", func() bool {
		data, _ := os.ReadFile(j.path("out.log"))
		return strings.Contains(string(data), "to-the-transcript\n")
	})
	j.must(0, "-p", prog, "-s", "zdsock", "stop")
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("run did not exit after stop")
	}
	if strings.Contains(out.String(), "to-the-transcript") {
		t.Errorf("the program's output also reached run's stdout: %q", out.String())
	}
}
