package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// openFDs counts the open descriptors of pid.
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("descriptors of %d: %v", pid, err)
	}
	return len(entries)
}

// holdConns opens n connections to the socket that send nothing; they are
// closed at the end of the test.
func holdConns(t *testing.T, sock string, n int) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for range n {
		c, err := net.DialTimeout("unix", sock, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d of %d: %v", len(conns)+1, n, err)
		}
		conns = append(conns, c)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

// Interrupted "zdaemon wait" clients (real ones, SIGINT, and 256 that send
// "await down", half-close and close, as a client killed by Ctrl-C does)
// leave nothing in the manager: its descriptors go back to where they
// were, status answers in under a second, and stop stops the program.
func TestTrustControlInterruptedWaits(t *testing.T) {
	j := newJob(t)
	p := []string{"-p", "sleep 1000"}
	pid := j.startOK(p...)
	mgr, _ := strconv.Atoi(j.statusMap(p...)["manager"])
	base := openFDs(t, mgr)

	// Real clients, interrupted once the manager holds their wait.
	var waits []*exec.Cmd
	for range 16 {
		cmd := exec.Command(zdaemonBin, append(p, "wait")...)
		cmd.Dir = j.dir
		cmd.Env = append(os.Environ(), "ZD_TEST_JOB="+j.dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waits = append(waits, cmd)
	}
	eventually(t, 20*time.Second, "the manager to hold 16 waits", func() bool { return openFDs(t, mgr) >= base+16 })
	for _, cmd := range waits {
		cmd.Process.Signal(syscall.SIGINT)
	}
	for _, cmd := range waits {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			// 130 from the wait; a client still in its first status
			// probe dies of the signal itself. Either way it hangs up.
			var ee *exec.ExitError
			if !errors.As(err, &ee) || (ee.ExitCode() != 130 && ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT) {
				t.Fatalf("interrupted wait: %v, want exit 130", err)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatal("an interrupted wait did not exit")
		}
	}
	// 256 more, the connection bound, the way those clients talk.
	sock := j.path("zdsock")
	for i := range 256 {
		c, err := net.DialTimeout("unix", sock, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		c.Write([]byte("await down\n"))
		c.(*net.UnixConn).CloseWrite()
		c.Close()
	}
	eventually(t, 10*time.Second, "the manager to drop the waits it held", func() bool { return openFDs(t, mgr) <= base })

	r := j.must(0, append(p, "status")...)
	if want := fmt.Sprintf("program running; pid=%d\n", pid); r.out != want {
		t.Fatalf("status: %q, want %q", r.out, want)
	}
	if r.took >= time.Second {
		t.Fatalf("status took %v after the interrupted waits", r.took)
	}
	j.stopOK(p...)
	if alive(pid) {
		t.Fatalf("program %d still runs after stop", pid)
	}
}

// More idle connections than the manager serves at once, held by its
// owner: status and stop still work, promptly (not after the 10 s read
// timeout of the idle ones).
func TestTrustControlIdleConnectionsBeyondCap(t *testing.T) {
	j := newJob(t)
	p := []string{"-p", "sleep 1000"}
	pid := j.startOK(p...)
	holdConns(t, j.path("zdsock"), 1000)
	r := j.must(0, append(p, "status")...)
	if want := fmt.Sprintf("program running; pid=%d\n", pid); r.out != want {
		t.Fatalf("status beside 1000 idle connections: %q, want %q", r.out, want)
	}
	if r.took >= 5*time.Second {
		t.Fatalf("status beside 1000 idle connections took %v", r.took)
	}
	j.stopOK(p...)
	if alive(pid) {
		t.Fatalf("program %d still runs after stop", pid)
	}
}

// A manager that holds the socket but does not answer (SIGSTOP) is "not
// responding", never "not running": status exits 4, and stop does not
// claim success while the program lives.
func TestTrustControlManagerNotResponding(t *testing.T) {
	j := newJob(t)
	p := []string{"-p", "sleep 1000"}
	pid := j.startOK(p...)
	mgr, _ := strconv.Atoi(j.statusMap(p...)["manager"])
	if err := syscall.Kill(mgr, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	continued := false
	cont := func() {
		if !continued {
			continued = true
			syscall.Kill(mgr, syscall.SIGCONT)
		}
	}
	defer cont()
	want := fmt.Sprintf("daemon manager not responding (no answer on %s within 5s)\n", j.path("zdsock"))
	r := j.run(append(p, "status")...)
	if r.code != 4 || r.out != want {
		t.Fatalf("status of a stopped manager: exit %d, %q; want exit 4, %q", r.code, r.out, want)
	}
	r = j.run(append(p, "stop")...)
	if r.code == 0 || strings.Contains(r.out, "not running") || strings.Contains(r.out, "stopped") || !strings.Contains(r.out, "not responding") {
		t.Fatalf("stop of a stopped manager: exit %d, %q", r.code, r.out)
	}
	if !alive(pid) {
		t.Fatal("the program died")
	}
	cont()
	j.must(0, append(p, "status")...)
	j.stopOK(p...)
}

// runLimited runs zdaemon in the job's directory under a descriptor limit
// (soft and hard, as "ulimit -n" sets them).
func (j *job) runLimited(nofile int, args ...string) result {
	j.t.Helper()
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		j.t.Skip("SKIPPED: needs prlimit (util-linux)")
	}
	return j.runCmd(nil, prlimit, append([]string{fmt.Sprintf("--nofile=%d:%d", nofile, nofile), zdaemonBin}, args...)...)
}

// A manager with 64 descriptors and 100 connections held: the program is
// restarted promptly after it is killed (the first back-off step, not
// once idle connections time out), status answers meanwhile, and a spawn
// that failed would say why in the event log.
func TestTrustControlDescriptorShortage(t *testing.T) {
	j := newJob(t)
	conf := j.write("job.hcl", `runner {
  program = "sleep 1000"
}
eventlog {
  level = "info"
  logfile {
    path = "event.log"
  }
}
`)
	c := []string{"-C", conf}
	r := j.runLimited(64, append(c, "start")...)
	m := startedRe.FindStringSubmatch(r.out)
	if r.code != 0 || m == nil {
		t.Fatalf("start under 64 descriptors: exit %d, %q, %q", r.code, r.out, r.err)
	}
	pid, _ := strconv.Atoi(m[2])
	mgr, _ := strconv.Atoi(j.statusMap(c...)["manager"])
	limits, _ := os.ReadFile(fmt.Sprintf("/proc/%d/limits", mgr))
	if !regexp.MustCompile(`Max open files\s+64\s+64`).Match(limits) {
		t.Fatalf("the manager's limits:\n%s", limits)
	}
	holdConns(t, j.path("zdsock"), 100)
	if r := j.must(0, append(c, "status")...); r.out != fmt.Sprintf("program running; pid=%d\n", pid) {
		t.Fatalf("status beside 100 connections: %q", r.out)
	}
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var st map[string]string
	pollUntil(t, 20*time.Second, 50*time.Millisecond, "a new program", func() bool {
		st = j.statusMap(c...)
		return st["application"] != "0" && st["application"] != strconv.Itoa(pid)
	})
	started, _ := strconv.ParseFloat(st["lasttime"], 64)
	if lag := time.Unix(0, int64(started*1e9)).Sub(killed); lag > 5*time.Second {
		t.Fatalf("the program was restarted %v after it was killed (back-off: 1s)", lag)
	}
	events, _ := os.ReadFile(j.path("event.log"))
	if !regexp.MustCompile(`at most \d+ control connections at once`).Match(events) {
		t.Fatalf("the event log does not state the connection bound:\n%s", events)
	}
	if strings.Contains(string(events), "pid 0: exit status 127") && !strings.Contains(string(events), "cannot start program: ") {
		t.Fatalf("a spawn failed and the event log does not say why:\n%s", events)
	}
	if strings.Contains(string(events), "open /dev/null") {
		t.Fatalf("the event log reports a descriptor shortage at spawn:\n%s", events)
	}
	j.stopOK(c...)
}
