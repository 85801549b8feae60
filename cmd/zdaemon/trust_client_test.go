package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Ten starts at once on one socket: every start gets a manager's word,
// whichever manager won the race for the socket. The original's clients
// print "daemon process started, pid=N" (after its dots) or "daemon
// process already running; pid=N", exit 0, with N the one program; so do
// ours, and a start whose manager lost the race leaves nothing behind.
func TestTrustClientConcurrentStarts(t *testing.T) {
	const clients, rounds = 10, 3
	j := newJob(t)
	conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program = "sleep 3600"
}
eventlog {
  logfile {
    path = %q
  }
}
`, j.path("event.log")))
	lostRe := regexp.MustCompile(`(?m) INFO root another manager already serves the control socket .*; leaving the job to it$`)
	lost := 0
	for round := range rounds {
		outs := startTogether(t, j, clients, "-C", conf, "start")
		st := j.statusMap("-C", conf)
		pid, _ := strconv.Atoi(st["application"])
		manager, _ := strconv.Atoi(st["manager"])
		if pid == 0 || manager == 0 {
			t.Fatalf("round %d: status after the starts: %v", round, st)
		}
		started := 0
		for i, r := range outs {
			m := startedRe.FindStringSubmatch(r.out)
			switch {
			case r.code != 0 || r.err != "":
				t.Errorf("round %d, client %d: exit %d\nstdout: %q\nstderr: %q", round, i, r.code, r.out, r.err)
			case m != nil && m[2] == strconv.Itoa(pid):
				started++
			case r.out == fmt.Sprintf("daemon process already running; pid=%d\n", pid):
			default:
				t.Errorf("round %d, client %d: output %q is none of the original's lines for pid %d", round, i, r.out, pid)
			}
		}
		if started == 0 {
			t.Errorf("round %d: no client said it started the program", round)
		}
		// Exactly one manager and one program: the losers are gone.
		if left := j.leftovers(); !sameSet(left, []int{manager, pid}) {
			t.Fatalf("round %d: processes %v, want only the manager %d and the program %d", round, left, manager, pid)
		}
		if names, _ := filepath.Glob(j.path("zdsock.*")); len(names) != 0 {
			t.Fatalf("round %d: temporary sockets left: %v", round, names)
		}
		j.stopOK("-C", conf)
		eventually(t, 10*time.Second, "the manager and the program to exit", func() bool { return len(j.leftovers()) == 0 })
		data, _ := os.ReadFile(j.path("event.log"))
		lost = len(lostRe.FindAll(data, -1))
		if strings.Contains(string(data), "Another zrdun") {
			t.Fatalf("round %d: a loser logged the raw status dump:\n%s", round, data)
		}
		// Only the winners daemonized: a loser logs one line and goes.
		if n := strings.Count(string(data), " INFO root daemonizing the process\n"); n != round+1 {
			t.Fatalf("round %d: %d managers daemonized, want %d:\n%s", round, n, round+1, data)
		}
	}
	// Each lost race left one line in the event log: the race happened.
	if lost == 0 {
		t.Fatalf("no start lost the race in %d rounds of %d: the test did not exercise it", rounds, clients)
	}
	t.Logf("%d of %d starts lost the race for the socket", lost, rounds*clients)
}

// startTogether runs n zdaemon processes with the same arguments, released
// at one moment: each waits, already started, for a line on its stdin.
func startTogether(t *testing.T, j *job, n int, args ...string) []result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type proc struct {
		cmd      *exec.Cmd
		gate     io.WriteCloser
		out, err strings.Builder
	}
	procs := make([]*proc, n)
	for i := range procs {
		p := &proc{}
		p.cmd = exec.CommandContext(ctx, "sh", append([]string{"-c", `read -r _ && exec "$0" "$@"`, zdaemonBin}, args...)...)
		p.cmd.Dir = j.dir
		p.cmd.Env = append(append(os.Environ(), "ZD_TEST_JOB="+j.dir), j.env...)
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.err
		gate, err := p.cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		p.gate = gate
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[i] = p
	}
	for _, p := range procs {
		_, _ = io.WriteString(p.gate, "go\n")
	}
	for _, p := range procs {
		p.gate.Close()
	}
	res := make([]result, n)
	for i, p := range procs {
		err := p.cmd.Wait()
		res[i] = result{out: p.out.String(), err: p.err.String()}
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			res[i].code = ee.ExitCode()
		case err != nil:
			t.Fatalf("client %d: %v", i, err)
		}
	}
	return res
}

// sameSet reports whether a and b hold the same pids.
func sameSet(a, b []int) bool {
	a, b = slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	return slices.Equal(a, b)
}

// originalPeer returns the original zdaemon's launcher (shared/peers), or
// skips the test loudly where it or python3 is absent.
func originalPeer(t *testing.T) string {
	t.Helper()
	peer, err := filepath.Abs("../../../shared/peers/original/zdaemon-py")
	if err == nil {
		_, err = os.Stat(peer)
	}
	if err != nil {
		t.Skip("SKIPPED: the original zdaemon (../shared/peers/original/zdaemon-py) is absent: ", err)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("SKIPPED: python3 is absent, the original zdaemon cannot run: ", err)
	}
	return peer
}

// runWith runs bin (our binary or the original's launcher) in the job's
// directory, as run does.
func (j *job) runWith(bin string, args ...string) result {
	j.t.Helper()
	return j.runCmd(nil, bin, args...)
}

// slowStopScript is a program that takes 3 s to exit on SIGTERM and ignores
// SIGUSR2; it writes, in its own words, when it got SIGTERM and when it
// exits (term.PID, gone.PID: Unix time with nanoseconds).
const slowStopScript = `trap 'date +%%s.%%N > %[1]s/term.$$; sleep 3; date +%%s.%%N > %[1]s/gone.$$; exit 0' TERM
trap '' USR2
while :; do sleep 1 & wait $!; done
`

// stamp reads a time the program wrote.
func (j *job) stamp(name string, pid int) time.Time {
	j.t.Helper()
	data, err := os.ReadFile(j.path(fmt.Sprintf("%s.%d", name, pid)))
	if err != nil {
		j.t.Fatalf("program %d wrote no %s time: %v", pid, name, err)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(string(data)), 64)
	if err != nil {
		j.t.Fatalf("%s.%d: %v", name, pid, err)
	}
	return time.Unix(0, int64(f*1e9))
}

var nowRe = regexp.MustCompile(`(?m)^now=.*$`)

// Our client against a running original manager (a migration installs the
// new binary while old managers run). The original does not know our added
// commands (await, plugins): every action works as the original's client,
// polling status once per second with its dots where we would await.
func TestTrustClientAgainstOriginalManager(t *testing.T) {
	peer := originalPeer(t)
	j := newJob(t)
	prog := "sh " + j.write("slow.sh", fmt.Sprintf(slowStopScript, j.dir))
	r := j.runWith(peer, "-p", prog, "start")
	m := startedRe.FindStringSubmatch(r.out)
	if r.code != 0 || m == nil {
		t.Fatalf("the original's start: exit %d\nstdout: %q\nstderr: %q", r.code, r.out, r.err)
	}
	pid, _ := strconv.Atoi(m[2])
	manager, _ := strconv.Atoi(j.statusMap("-p", prog)["manager"])
	// The harness finds the original's manager and program by pid (the
	// program's "sleep 1" may be there too), and kills them if we fail.
	if left := j.leftovers(); !slices.Contains(left, manager) || !slices.Contains(left, pid) {
		t.Fatalf("processes of the job %v, want the original's manager %d and the program %d among them", left, manager, pid)
	}

	// Side by side with the original's client on the same manager: the
	// same output and exit status.
	for _, args := range [][]string{
		{"status"},
		{"status", "-l"},
		{"start"},
		{"kill", "CONT"},
		{"logreopen"},
		{"reopen_transcript"},
		{"fg"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			all := append([]string{"-p", prog}, args...)
			want, got := j.runWith(peer, all...), j.run(all...)
			want.out, got.out = nowRe.ReplaceAllString(want.out, "now=…"), nowRe.ReplaceAllString(got.out, "now=…")
			if got.code != want.code || got.out != want.out || got.err != "" {
				t.Errorf("ours: exit %d, stdout %q, stderr %q\nthe original's: exit %d, stdout %q", got.code, got.out, got.err, want.code, want.out)
			}
		})
	}
	r = j.must(0, "-p", prog, "show")
	if strings.Contains(r.out, "Unknown command") || strings.Contains(r.out, "plugins:") || !strings.HasPrefix(r.out, "zdctl/zdrun options:\n") {
		t.Errorf("show: %q", r.out)
	}

	// restart waits for the new program.
	r = j.must(0, "-p", prog, "restart")
	m = restartedRe.FindStringSubmatch(r.out)
	if m == nil {
		t.Fatalf("restart output %q (stderr %q)", r.out, r.err)
	}
	newPid, _ := strconv.Atoi(m[2])
	if newPid == pid || !alive(newPid) || alive(pid) {
		t.Fatalf("restart: old pid %d (alive %v), new pid %d (alive %v)", pid, alive(pid), newPid, alive(newPid))
	}
	if done := time.Now(); done.Before(j.stamp("gone", pid)) {
		t.Fatalf("restart returned at %v, before the old program exited at %v", done, j.stamp("gone", pid))
	}
	pid = newPid

	// wait blocks, polling, until the program is gone; stop stops it and
	// says so only once it is gone.
	waiter := exec.Command(zdaemonBin, "-p", prog, "wait")
	waiter.Dir = j.dir
	waiter.Env = append(os.Environ(), "ZD_TEST_JOB="+j.dir)
	waitOut, err := waiter.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := waiter.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan string, 1)
	firstDot := make(chan bool, 1)
	go func() {
		br := bufio.NewReader(waitOut)
		var b strings.Builder
		dot, _ := br.ReadString(' ')
		b.WriteString(dot)
		firstDot <- dot == ". "
		rest, _ := io.ReadAll(br)
		b.Write(rest)
		waited <- b.String()
	}()
	select {
	case ok := <-firstDot:
		if !ok {
			t.Fatalf("wait returned at once: %q", <-waited)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("wait printed no progress dot in 30 s")
	}
	r = j.must(0, "-p", prog, "stop")
	stopped := time.Now()
	if !regexp.MustCompile(`^(\. )+\ndaemon process stopped\n$`).MatchString(r.out) {
		t.Errorf("stop output %q, want dots and the stopped line", r.out)
	}
	if alive(pid) {
		t.Errorf("stop said %q while program %d still runs", r.out, pid)
	} else if gone := j.stamp("gone", pid); stopped.Before(gone) {
		t.Errorf("stop returned at %v, before the program exited at %v", stopped, gone)
	}
	var waitText string
	select {
	case waitText = <-waited:
	case <-time.After(30 * time.Second):
		t.Fatal("wait did not return after stop")
	}
	if err := waiter.Wait(); err != nil {
		t.Errorf("wait: %v", err)
	}
	if !regexp.MustCompile(`^(\. )+\ndaemon process stopped\n(daemon manager not running|daemon manager running; daemon process not running)\n$`).MatchString(waitText) {
		t.Errorf("wait output %q", waitText)
	}
	eventually(t, 10*time.Second, "the original's manager to exit", func() bool { return len(j.leftovers()) == 0 })
	if r := j.must(3, "-p", prog, "status"); r.out != "daemon manager not running\n" {
		t.Errorf("status after stop: %q", r.out)
	}
}

// The original's client against our manager: its polling reads our
// status replies.
func TestTrustClientOriginalClientAgainstOurs(t *testing.T) {
	peer := originalPeer(t)
	j := newJob(t)
	prog := "sleep 3600"
	pid := j.startOK("-p", prog)
	steps := []struct {
		args []string
		code int
		want *regexp.Regexp
	}{
		{[]string{"start"}, 0, regexp.MustCompile(fmt.Sprintf(`^daemon process already running; pid=%d\n$`, pid))},
		{[]string{"status"}, 0, regexp.MustCompile(fmt.Sprintf(`^program running; pid=%d\n$`, pid))},
		{[]string{"status", "-l"}, 0, regexp.MustCompile(fmt.Sprintf(`^program running; pid=%d\nstatus=running\n(?s:.*)\napplication=%d\n(?s:.*)\nargs=\['sleep', '3600'\]\n\n$`, pid, pid))},
		{[]string{"restart"}, 0, restartedRe},
		{[]string{"stop"}, 0, stoppedRe},
		{[]string{"status"}, 3, regexp.MustCompile(`^daemon manager not running\n$`)},
	}
	for _, s := range steps {
		r := j.runWith(peer, append([]string{"-p", prog}, s.args...)...)
		if r.code != s.code || !s.want.MatchString(r.out) {
			t.Fatalf("the original's %s: exit %d (want %d)\nstdout: %q\nstderr: %q", strings.Join(s.args, " "), r.code, s.code, r.out, r.err)
		}
		if m := restartedRe.FindStringSubmatch(r.out); m != nil {
			if m[2] == strconv.Itoa(pid) || alive(pid) {
				t.Fatalf("restart kept program %d: %q", pid, r.out)
			}
			pid, _ = strconv.Atoi(m[2])
		}
	}
	if alive(pid) {
		t.Fatalf("program %d survived the original's stop", pid)
	}
	eventually(t, 10*time.Second, "our manager to exit", func() bool { return len(j.leftovers()) == 0 })
}

// A socket held by something that accepts and answers nothing: start
// does not take it for a manager it lost a race to, nor start a second
// manager beside it; it says the socket's holder does not respond, exits
// 1 and leaves nothing.
func TestTrustClientSocketHeldByStranger(t *testing.T) {
	j := newJob(t)
	l, err := net.Listen("unix", j.path("zdsock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	r := j.must(1, "-p", "sleep 3600", "start")
	if r.out != "daemon manager not responding ("+j.path("zdsock")+" dropped the connection unanswered)\n" || r.err != "" {
		t.Fatalf("start beside a stranger:\nstdout: %q\nstderr: %q", r.out, r.err)
	}
	if left := j.leftovers(); len(left) != 0 {
		t.Fatalf("processes left: %v", left)
	}
}
