package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The seed README's first session: start, status, stop, status.
func TestReadmeSleepCycle(t *testing.T) {
	j := newJob(t)
	pid := j.startOK("-p", "sleep 100")
	if !alive(pid) {
		t.Fatalf("pid %d not alive", pid)
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if string(cmdline) != "sleep\x00100\x00" {
		t.Fatalf("program cmdline %q", cmdline)
	}
	r := j.must(0, "-p", "sleep 100", "status")
	if r.out != fmt.Sprintf("program running; pid=%d\n", pid) {
		t.Fatalf("status: %q", r.out)
	}
	st, err := os.Stat(j.path("zdsock"))
	if err != nil || st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o700 {
		t.Fatalf("socket: %v %v", st.Mode(), err)
	}
	r = j.must(0, "-p", "sleep 100", "start")
	if r.out != fmt.Sprintf("daemon process already running; pid=%d\n", pid) {
		t.Fatalf("second start: %q", r.out)
	}
	j.stopOK("-p", "sleep 100")
	if alive(pid) {
		t.Fatalf("program %d survived stop", pid)
	}
	if _, err := os.Stat(j.path("zdsock")); !os.IsNotExist(err) {
		t.Fatalf("socket left after stop: %v", err)
	}
	r = j.must(3, "-p", "sleep 100", "status")
	if r.out != "daemon manager not running\n" {
		t.Fatalf("status after stop: %q", r.out)
	}
	r = j.must(0, "-p", "sleep 100", "stop")
	if r.out != "daemon manager not running\n" {
		t.Fatalf("stop without manager: %q", r.out)
	}
}

func TestStatusLong(t *testing.T) {
	j := newJob(t)
	pid := j.startOK("-p", "sleep 100")
	defer j.stopOK("-p", "sleep 100")
	r := j.must(0, "-p", "sleep 100", "status", "-l")
	lines := strings.Split(r.out, "\n")
	keys := []string{"status", "now", "should_be_up", "delay", "backoff", "lasttime", "application",
		"testing", "manager", "backofflimit", "filename", "args"}
	if len(lines) != 1+len(keys)+2 || lines[len(lines)-1] != "" || lines[len(lines)-2] != "" {
		t.Fatalf("status -l has %d lines: %q", len(lines), r.out)
	}
	for i, k := range keys {
		if !strings.HasPrefix(lines[i+1], k+"=") {
			t.Fatalf("line %d %q, want key %s", i+1, lines[i+1], k)
		}
	}
	kv := j.statusMap("-p", "sleep 100")
	if kv["application"] != strconv.Itoa(pid) || kv["status"] != "running" || kv["args"] != "['sleep', '100']" {
		t.Fatalf("status: %v", kv)
	}
	if !strings.HasSuffix(kv["filename"], "/sleep'") {
		t.Fatalf("filename %s", kv["filename"])
	}
}

// The manager is a session leader with no terminal, and the program runs in
// its own process group below it.
func TestProcessLayout(t *testing.T) {
	j := newJob(t)
	pid := j.startOK("-p", "sleep 100")
	defer j.stopOK("-p", "sleep 100")
	mgr, _ := strconv.Atoi(j.statusMap("-p", "sleep 100")["manager"])
	ms := procStat(t, mgr) // state ppid pgrp session tty_nr ...
	if ms[2] != strconv.Itoa(mgr) || ms[3] != strconv.Itoa(mgr) || ms[4] != "0" {
		t.Fatalf("manager %d: pgrp %s session %s tty %s", mgr, ms[2], ms[3], ms[4])
	}
	ps := procStat(t, pid)
	if ps[1] != strconv.Itoa(mgr) || ps[2] != strconv.Itoa(pid) {
		t.Fatalf("program %d: ppid %s (manager %d), pgrp %s", pid, ps[1], mgr, ps[2])
	}
	// stdin is /dev/null, and nothing beyond fd 2 is inherited.
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		n, _ := strconv.Atoi(fd.Name())
		target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, n))
		if n > 2 {
			t.Errorf("program has fd %d -> %s", n, target)
		}
		if n == 0 && target != "/dev/null" {
			t.Errorf("program stdin is %s", target)
		}
	}
}

func TestRestartAndExtraWords(t *testing.T) {
	j := newJob(t)
	conf := j.write("job.hcl", `runner {
  program = "sleep"
}
`)
	pid := j.startWords([]string{"-C", conf}, "100")
	kv := j.statusMap("-C", conf)
	if kv["args"] != "['sleep', '100']" {
		t.Fatalf("args %s", kv["args"])
	}
	r := j.must(0, "-C", conf, "restart")
	m := restartedRe.FindStringSubmatch(r.out)
	if m == nil {
		t.Fatalf("restart output %q", r.out)
	}
	if m[2] == strconv.Itoa(pid) || alive(pid) {
		t.Fatalf("restart kept pid %d", pid)
	}
	j.stopOK("-C", conf)
	// restart with nothing running acts as start
	r = j.must(0, "-C", conf, "restart", "100")
	if !startedRe.MatchString(r.out) {
		t.Fatalf("restart from cold: %q", r.out)
	}
	j.stopOK("-C", conf)
}

func TestSocketNameOption(t *testing.T) {
	j := newJob(t)
	sock := j.path("run/demo.zdsock") // one missing level is created
	conf := j.write("job.hcl", fmt.Sprintf("runner {\n  program = \"sleep 100\"\n  socket-name = %q\n}\n", sock))
	j.startOK("-C", conf)
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("socket not at %s: %v", sock, err)
	}
	if _, err := os.Stat(j.path("zdsock")); !os.IsNotExist(err) {
		t.Fatal("socket created in the cwd too")
	}
	j.stopOK("-C", conf)
}

func TestKill(t *testing.T) {
	j := newJob(t)
	p := []string{"-p", "sleep 100", "-b", "1"}
	pid := j.startOK(p...)
	r := j.must(1, append(p, "kill", "ded")...)
	if r.out != "invalid signal 'ded'\n" {
		t.Fatalf("kill ded: %q", r.out)
	}
	r = j.must(0, append(p, "kill", "CONT")...)
	if r.out != fmt.Sprintf("kill(%d, 18)\nsignal SIGCONT sent to process %d\n", pid, pid) {
		t.Fatalf("kill CONT: %q", r.out)
	}
	// SIGTERM kills sleep; the manager restarts it (it ran longer than the
	// back-off limit of 1 s? no: it is younger, so after 1 s).
	time.Sleep(1100 * time.Millisecond)
	r = j.must(0, append(p, "kill")...)
	eventually(t, 5*time.Second, "a new program pid", func() bool {
		kv := j.statusMap(p...)
		return kv["application"] != "0" && kv["application"] != strconv.Itoa(pid)
	})
	j.stopOK(p...)
	r = j.must(1, append(p, "kill")...)
	if r.out != "daemon process not running\n" {
		t.Fatalf("kill after stop: %q", r.out)
	}
}

func TestFg(t *testing.T) {
	j := newJob(t)
	r := j.must(0, "-p", "echo hello world", "fg")
	if r.out != "echo hello world\nhello world\n" {
		t.Fatalf("fg: %q", r.out)
	}
	r = j.must(0, "-p", "sh -c", "fg", "echo $0-7")
	if r.out != "sh -c echo $0-7\nsh-7\n" {
		t.Fatalf("fg extra words: %q", r.out)
	}
	r = j.must(1, "-p", "nosuchprogram", "fg")
	if r.out != "nosuchprogram\n" || !strings.Contains(r.err, "can't find program 'nosuchprogram'") {
		t.Fatalf("fg nosuch: %q %q", r.out, r.err)
	}
	pid := j.startOK("-p", "sleep 100")
	_ = pid
	r = j.must(0, "-p", "sleep 100", "fg")
	if r.out != "To run the program in the foreground, please stop it first.\n" {
		t.Fatalf("fg while running: %q", r.out)
	}
	j.stopOK("-p", "sleep 100")
}

func TestEnvironmentUmaskDirectory(t *testing.T) {
	j := newJob(t)
	work := j.path("work")
	script := j.write("probe.sh", `#!/bin/sh
env > env.out
umask > umask.out
pwd > pwd.out
touch created
exec sleep 100
`)
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program   = %q
  directory = %q
  umask     = "027"
}
environment {
  LD_LIBRARY_PATH = "/home/foo/lib"
  HOME            = "/home/foo"
}
`, script, work))
	j.startOK("-C", conf)
	eventually(t, 5*time.Second, "the probe script's files", func() bool {
		_, err := os.Stat(filepath.Join(work, "created"))
		return err == nil
	})
	env, _ := os.ReadFile(filepath.Join(work, "env.out"))
	for _, want := range []string{"LD_LIBRARY_PATH=/home/foo/lib\n", "HOME=/home/foo\n"} {
		if !strings.Contains(string(env), want) {
			t.Errorf("environment lacks %q", want)
		}
	}
	if strings.Contains(string(env), "DAEMON_MANAGER_MODE") {
		t.Error("DAEMON_MANAGER_MODE leaked into the program")
	}
	// The manager's own GOMAXPROCS (see daemon.RestoreEnv) stays its own.
	if os.Getenv("GOMAXPROCS") == "" && strings.Contains(string(env), "GOMAXPROCS") {
		t.Error("the manager's GOMAXPROCS leaked into the program")
	}
	if u, _ := os.ReadFile(filepath.Join(work, "umask.out")); strings.TrimSpace(string(u)) != "0027" {
		t.Errorf("umask %q", u)
	}
	if d, _ := os.ReadFile(filepath.Join(work, "pwd.out")); strings.TrimSpace(string(d)) != work {
		t.Errorf("pwd %q", d)
	}
	if st, err := os.Stat(filepath.Join(work, "created")); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("created file mode %v", st.Mode())
	}
	j.stopOK("-C", conf)
	// fg sees the environment too (README "Environment Variables").
	conf2 := j.write("env.hcl", "runner {\n  program = \"env\"\n}\nenvironment {\n  LD_LIBRARY_PATH = \"/home/foo/lib\"\n}\n")
	r := j.must(0, "-C", conf2, "fg")
	if !strings.HasPrefix(r.out, "env\n") || !strings.Contains(r.out, "\nLD_LIBRARY_PATH=/home/foo/lib\n") {
		t.Fatalf("fg env: %q", r.out)
	}
}

// A program that exits at once never counts as started. The job file
// gives a start grace no run here outlives even on a loaded machine (a
// program that takes longer than the default 20 ms to exit is, by the
// rule, started).
func TestStartFailures(t *testing.T) {
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{"usage error exit 1", []string{"-p", "sleep", "-b", "2"}, ""},
		{"missing file", []string{"-p", "cat nosuchfile", "-b", "1"}, ""},
		{"exits 0 at once", []string{"-p", "pwd", "-b", "1"}, ""},
		{"no such program", []string{"-p", "nosuchprogram", "-b", "1"}, "Error: can't find program 'nosuchprogram' on PATH ["},
		{"exit code 3 is fatal with -x 3", []string{"-p", "sh exit3.sh", "-x", "3"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJob(t)
			j.write("exit3.sh", "exit 3\n")
			grace := j.write("grace.hcl", "runner {\n  program = \"true\"\n  start-grace = \"5s\"\n}\n")
			r := j.must(1, append(append([]string{"-C", grace}, tt.args...), "start")...)
			if !strings.HasSuffix(r.out, "\ndaemon manager not running\n") {
				t.Fatalf("start output %q", r.out)
			}
			if tt.err != "" && !strings.HasPrefix(r.err, tt.err) {
				t.Fatalf("stderr %q, want prefix %q", r.err, tt.err)
			}
			if r.took > 10*time.Second {
				t.Fatalf("took %v", r.took)
			}
			eventually(t, 5*time.Second, "the manager to exit", func() bool { return len(j.leftovers()) == 0 })
		})
	}
}

func TestBackoffTiming(t *testing.T) {
	// Always-crashing program, backoff-limit 3: starts at 0, 1, 3 s, then
	// the manager quits (restarting too frequently). Timestamps come from
	// the program itself. The start grace is longer than any run, so a
	// loaded machine that runs the shell slowly cannot make a run count as
	// started.
	j := newJob(t)
	log := j.path("starts")
	conf := j.write("job.hcl", `runner {
  program       = ["sh", "-c", "date +%s.%N >> starts; exit 1"]
  backoff-limit = 3
  start-grace   = "30s"
}
`)
	r := j.must(1, "-C", conf, "start")
	if !strings.HasSuffix(r.out, "daemon manager not running\n") {
		t.Fatalf("start: %q", r.out)
	}
	data, _ := os.ReadFile(log)
	var times []float64
	for _, line := range strings.Fields(string(data)) {
		f, _ := strconv.ParseFloat(line, 64)
		times = append(times, f)
	}
	if len(times) != 3 {
		t.Fatalf("%d starts, want 3: %q", len(times), data)
	}
	for i, want := range []float64{1, 2} {
		gap := times[i+1] - times[i]
		if gap < want-0.05 || gap > want+1.0 { // generous: CI machines are loaded
			t.Errorf("gap %d = %.3f s, want about %.0f s", i, gap, want)
		}
	}
}

// After a run longer than backoff-limit the next start waits 1 s (the seed
// README: "the delay is reset to 1 second"), not zero. The gap is taken
// from the program's own timestamps: the end of one run to the start of
// the next.
func TestBackoffAfterLongRun(t *testing.T) {
	j := newJob(t)
	conf := j.write("job.hcl", `runner {
  program       = ["sh", "-c", "date +%s.%N >> starts; sleep 1.3; date +%s.%N >> ends; exit 1"]
  backoff-limit = 1
}
`)
	j.startOK("-C", conf)
	stamps := func(name string) []float64 {
		data, _ := os.ReadFile(j.path(name))
		var out []float64
		for _, line := range strings.Fields(string(data)) {
			f, _ := strconv.ParseFloat(line, 64)
			out = append(out, f)
		}
		return out
	}
	eventually(t, 20*time.Second, "three starts", func() bool { return len(stamps("starts")) >= 3 })
	j.stopOK("-C", conf)
	starts, ends := stamps("starts"), stamps("ends")
	for i := range 2 {
		gap := starts[i+1] - ends[i]
		if gap < 0.95 || gap > 2.5 { // 1 s; generous above: CI machines are loaded
			t.Errorf("run %d ended at %.3f, next started %.3f s later; want about 1 s", i, ends[i], gap)
		}
	}
}

func TestForeverKeepsRestarting(t *testing.T) {
	j := newJob(t)
	log := j.path("starts")
	conf := j.write("job.hcl", `runner {
  program     = ["sh", "-c", "echo x >> starts; exit 1"]
  start-grace = "30s" # never up, however slowly the machine runs sh
}
`)
	p := []string{"-C", conf, "-b", "1", "-f", "-T", "2"}
	// start never sees the program up for its grace period: it times out.
	r := j.must(1, append(p, "start")...)
	if !strings.HasSuffix(r.out, "\nProgram took too long to start\n") {
		t.Fatalf("start: %q", r.out)
	}
	if !strings.HasPrefix(r.out, ". ") {
		t.Fatalf("no progress dots in %q", r.out)
	}
	data, _ := os.ReadFile(log)
	if n := strings.Count(string(data), "x"); n < 2 {
		t.Fatalf("%d starts in 2 s with -f -b 1", n)
	}
	j.must(0, append(p, "stop")...)
}

func TestStopTimeoutEscalation(t *testing.T) {
	j := newJob(t)
	conf := j.write("job.hcl", `runner {
  program      = ["sh", "-c", "trap '' TERM; sleep 100 & wait"]
  stop-timeout = 1
}
`)
	pid := j.startOK("-C", conf)
	start := time.Now()
	j.stopOK("-C", conf)
	if d := time.Since(start); d < time.Second || d > 5*time.Second {
		t.Fatalf("stop took %v, want about 1 s", d)
	}
	if alive(pid) {
		t.Fatal("program survived")
	}
}

func TestManagerSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			j := newJob(t)
			pid := j.startOK("-p", "sleep 100")
			mgr, _ := strconv.Atoi(j.statusMap("-p", "sleep 100")["manager"])
			if err := syscall.Kill(mgr, sig); err != nil {
				t.Fatal(err)
			}
			eventually(t, 5*time.Second, "manager and program gone", func() bool { return !alive(mgr) && !alive(pid) })
			j.must(3, "-p", "sleep 100", "status")
			if sig != syscall.SIGKILL {
				if _, err := os.Stat(j.path("zdsock")); !os.IsNotExist(err) {
					t.Fatalf("socket left after %v", sig)
				}
			}
			// The next start works, stale socket or not.
			j.startOK("-p", "sleep 100")
			j.stopOK("-p", "sleep 100")
		})
	}
}

func TestStaleAndForeignSocketPaths(t *testing.T) {
	j := newJob(t)
	// A stale socket: bound, then abandoned.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: j.path("zdsock"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	r := j.must(0, "-p", "sleep 100", "start")
	if !strings.Contains(r.err, "Unlinking stale socket "+j.path("zdsock")) {
		t.Fatalf("stderr %q", r.err)
	}
	j.stopOK("-p", "sleep 100")
	// A regular file is never deleted.
	j.write("zdsock", "precious")
	r = j.must(1, "-p", "sleep 100", "start")
	if data, _ := os.ReadFile(j.path("zdsock")); string(data) != "precious" {
		t.Fatal("regular file at the socket path was touched")
	}
	if !strings.Contains(r.err, "not a socket") {
		t.Fatalf("stderr %q", r.err)
	}
}

func TestDoubleManagerRefused(t *testing.T) {
	j := newJob(t)
	j.startOK("-p", "sleep 100")
	defer j.stopOK("-p", "sleep 100")
	// A second manager started by hand on the same socket.
	r := j.must(1, "-p", "sleep 100", "run")
	if !strings.HasPrefix(r.err, "Another zrdun is already up using socket '"+j.path("zdsock")+"':\nstatus=running\n") {
		t.Fatalf("stderr %q", r.err)
	}
}

func TestGarbageOnSocket(t *testing.T) {
	j := newJob(t)
	pid := j.startOK("-p", "sleep 100")
	defer j.stopOK("-p", "sleep 100")
	send := func(data []byte, closeWrite bool) string {
		c, err := net.Dial("unix", j.path("zdsock"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(data)
		if closeWrite {
			c.(*net.UnixConn).CloseWrite()
		}
		var buf [4096]byte
		var out []byte
		for {
			n, err := c.Read(buf[:])
			out = append(out, buf[:n]...)
			if err != nil {
				return string(out)
			}
		}
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"binary", []byte("\xff\xfe\x00\x01garbage\n"), "Unknown command '\xff\xfe\x00\x01garbage'; 'help' for a list\n"},
		{"empty", []byte("\n"), "Empty command\n"},
		{"unterminated", []byte("status"), "Command not terminated by newline\n"},
		{"too long", []byte(strings.Repeat("x", 10001)), "Command exceeds 10 KB\n"},
		{"unknown", []byte("bogus\n"), "Unknown command 'bogus'; 'help' for a list\n"},
		{"kill 999", []byte("kill 999\n"), "Kill 999 failed: [Errno 22] Invalid argument\n"},
	} {
		if got := send(tc.data, true); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if !alive(pid) {
		t.Fatal("program died")
	}
	j.must(0, "-p", "sleep 100", "status")
}

// Only the socket's owner and root may talk to the manager: the socket is
// mode 0700, and a peer of another uid that reaches it anyway is refused.
func TestPeerCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: needs root to run a client as uid 65534")
	}
	j := newJob(t)
	conf := j.write("job.hcl", "runner {\n  program = \"sleep 100\"\n}\neventlog {\n  logfile {\n    path = \"event.log\"\n  }\n}\n")
	pid := j.startOK("-C", conf)
	defer j.stopOK("-C", conf)
	os.Chmod(j.dir, 0o755)
	os.Chmod(filepath.Dir(zdaemonBin), 0o755)
	runAsNobody := func() (string, string, int) {
		cmd := exec.Command(zdaemonBin, "-s", j.path("zdsock"), "-p", "sleep 100", "status")
		cmd.Dir = "/"
		cmd.Env = append(os.Environ(), "ZD_TEST_JOB="+j.dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	// Mode 0700: the other user cannot even connect.
	if out, _, code := runAsNobody(); code != 3 || out != "daemon manager not running\n" {
		t.Fatalf("nobody through a 0700 socket: exit %d, %q", code, out)
	}
	// With the mode opened up, the peer check refuses it.
	os.Chmod(j.path("zdsock"), 0o777)
	if _, errOut, code := runAsNobody(); code != 1 || !strings.Contains(errOut, "Permission denied") {
		t.Fatalf("nobody through an open socket: exit %d, %q", code, errOut)
	}
	if events, _ := os.ReadFile(j.path("event.log")); !strings.Contains(string(events), "refused control connection from uid 65534") {
		t.Fatalf("the refusal is not in the event log: %s", events)
	}
	if !alive(pid) {
		t.Fatal("program died")
	}
}

func TestNonDaemonStartWaits(t *testing.T) {
	j := newJob(t)
	conf := j.write("job.hcl", "runner {\n  program = \"sleep 1\"\n  daemon  = false\n}\n")
	r := j.must(0, "-C", conf, "start")
	if r.out != "" || r.took < 900*time.Millisecond || r.took > 5*time.Second {
		t.Fatalf("start: %q after %v", r.out, r.took)
	}
}

// wait prints the original's dots while the program runs and ends when it
// exits. The program runs until the test has seen the first dot, so the
// wait lasts longer than a second however slowly the machine starts the
// client.
func TestWaitForExit(t *testing.T) {
	j := newJob(t)
	conf := j.write("job.hcl", "runner {\n  program = [\"sh\", \"-c\", \"while [ ! -e go ]; do sleep 0.05; done; exit 0\"]\n}\n")
	j.startOK("-C", conf)
	cmd := exec.Command(zdaemonBin, "-C", conf, "wait")
	cmd.Dir = j.dir
	cmd.Env = append(os.Environ(), "ZD_TEST_JOB="+j.dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	first := make([]byte, 2)
	read := make(chan error, 1)
	go func() { _, err := io.ReadFull(out, first); read <- err }()
	select {
	case err := <-read:
		if err != nil || string(first) != ". " {
			t.Fatalf("first output %q (%v), want a dot", first, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no dot after 20 s of waiting")
	}
	j.write("go", "")
	rest := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(out); rest <- b }()
	var tail []byte
	select {
	case tail = <-rest:
	case <-time.After(20 * time.Second):
		t.Fatal("wait did not end after the program exited")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("wait: %v", err)
	}
	if got := string(first) + string(tail); !regexp.MustCompile(`^(\. )+\ndaemon process stopped\ndaemon manager not running\n$`).MatchString(got) {
		t.Fatalf("wait: %q", got)
	}
}

func TestInteractiveShell(t *testing.T) {
	j := newJob(t)
	r := j.runIn([]byte("\nhelp stop\nbogus\nstart\nstatus\nquit\n"), "-p", "sleep 100")
	if r.code != 0 {
		t.Fatalf("exit %d: %q %q", r.code, r.out, r.err)
	}
	pid := regexp.MustCompile(`pid=(\d+)`).FindStringSubmatch(r.out)
	if pid == nil {
		t.Fatalf("no pid in %q", r.out)
	}
	want := "program: sleep 100\ndaemon manager not running\n" +
		"zdaemon> daemon manager not running\n" +
		"zdaemon> stop -- Stop the daemon process.\n        If it is not running, do nothing.\n" +
		"zdaemon> *** Unknown syntax: bogus\n" +
		"zdaemon> \ndaemon process started, pid=" + pid[1] + "\n" +
		"zdaemon> program running; pid=" + pid[1] + "\n" +
		"zdaemon> daemon process and daemon manager still running\n"
	if r.out != want {
		t.Fatalf("got\n%q\nwant\n%q", r.out, want)
	}
	j.stopOK("-p", "sleep 100")
}

func TestEventLogAndReopen(t *testing.T) {
	j := newJob(t)
	conf := j.write("job.hcl", `runner {
  program = "sleep 100"
}
eventlog {
  level = "debug"
  logfile {
    path = "event.log"
  }
}
`)
	pid := j.startOK("-C", conf)
	eventually(t, 5*time.Second, "the spawn line", func() bool {
		data, _ := os.ReadFile(j.path("event.log"))
		return strings.Contains(string(data), fmt.Sprintf(" INFO root spawned process pid=%d\n", pid))
	})
	data, _ := os.ReadFile(j.path("event.log"))
	if !regexp.MustCompile(`^------\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d INFO root daemonizing the process\n`).Match(data) {
		t.Fatalf("event log starts %q", data)
	}
	if err := os.Rename(j.path("event.log"), j.path("event.log.1")); err != nil {
		t.Fatal(err)
	}
	r := j.must(0, "-C", conf, "reopen_transcript")
	if r.out != "" {
		t.Fatalf("reopen_transcript printed %q", r.out)
	}
	j.stopOK("-C", conf)
	data, _ = os.ReadFile(j.path("event.log"))
	if !strings.Contains(string(data), "INFO root Exiting\n") {
		t.Fatalf("new event log: %q", data)
	}
	old, _ := os.ReadFile(j.path("event.log.1"))
	if strings.Contains(string(old), "Exiting") {
		t.Fatal("old event log still written after reopen")
	}
}

func TestRunAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: needs root to switch users")
	}
	j := newJob(t)
	os.Chmod(j.dir, 0o777)
	pid := j.startOK("-u", "nobody", "-p", "sleep 100", "-s", j.path("run/zdsock"))
	mgr, _ := strconv.Atoi(j.statusMap("-u", "nobody", "-p", "sleep 100", "-s", j.path("run/zdsock"))["manager"])
	for _, p := range []int{pid, mgr} {
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if !regexp.MustCompile(`(?m)^Uid:\t65534\t65534\t65534\t65534$`).Match(status) {
			t.Errorf("pid %d is not running as nobody", p)
		}
	}
	st, _ := os.Stat(j.path("run"))
	if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 65534 {
		t.Errorf("socket directory owned by %d, want nobody", sys.Uid)
	}
	j.stopOK("-u", "nobody", "-p", "sleep 100", "-s", j.path("run/zdsock"))
}

func TestDifferentProgramWarning(t *testing.T) {
	j := newJob(t)
	j.startOK("-p", "sleep 100")
	defer j.stopOK("-p", "sleep 100")
	r := j.must(0, "-p", "sleep 200", "status")
	want := "WARNING! zdrun is managing a different program!\nour program   = ['sleep', '200']\ndaemon's args = ['sleep', '100']\n"
	if !strings.HasPrefix(r.out, want) {
		t.Fatalf("status: %q", r.out)
	}
	// A prefix is not different: "sleep" with "start 100" is the same job.
	if r := j.must(0, "-p", "sleep", "status"); strings.Contains(r.out, "WARNING") {
		t.Fatalf("prefix warned: %q", r.out)
	}
}

// Ctrl-C while start waits: exit 130 and no claim that the program started.
// A start that starts the manager hears that the program is up on the
// hand-off, not over the control socket: it makes no request there. The
// manager counts requests: one metrics command's worth after the start,
// twice that after a second one.
func TestStartHearsUpOnTheHandoff(t *testing.T) {
	j := newJob(t)
	args := []string{"-p", "sleep 100"}
	j.startOK(args...)
	requests := func() float64 {
		return metricValue(t, scrape(t, j, args...), "zdaemon_control_requests_total", nil)
	}
	first := requests()
	second := requests()
	if first <= 0 || second != 2*first {
		t.Errorf("control requests: %v after start and a metrics command, %v after a second one: start asked %v times, want 0",
			first, second, 2*first-second)
	}
	j.stopOK(args...)
}

func TestInterruptedStart(t *testing.T) {
	j := newJob(t)
	// A start grace longer than the test: "false" is never up, however
	// slowly a loaded machine runs it.
	grace := j.write("grace.hcl", "runner {\n  program = \"false\"\n  start-grace = \"30s\"\n}\n")
	args := []string{"-C", grace, "-f", "-b", "1"}
	cmd := exec.Command(zdaemonBin, append(args, "start")...)
	cmd.Dir = j.dir
	cmd.Env = append(os.Environ(), "ZD_TEST_JOB="+j.dir)
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 130 {
			t.Fatalf("exit %v, want 130", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("start did not end on SIGINT")
	}
	if strings.Contains(out.String(), "started") || !strings.HasPrefix(out.String(), ". ") {
		t.Fatalf("output %q", out.String())
	}
	j.must(0, append(args, "stop")...)
}
