package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// listenJob writes a job running listenprog with its socket "web" at
// addr, its log in the job directory, and more runner lines.
func (j *job) listenJob(addr string, progArgs, runner, blocks string) string {
	j.t.Helper()
	return j.write("job.hcl", fmt.Sprintf(`runner {
  program       = ["%s", "-log", "%s"%s]
  socket-name   = "%s"
  start-timeout = 20
%s}
listen "web" { address = "%s" }
%s`, listenProg, j.path("prog.log"), progArgs, j.path("zdsock"), runner, addr, blocks))
}

// progLog reads listenprog's log: one event per line, with the program's
// own timestamp last.
func (j *job) progLog() []string {
	j.t.Helper()
	b, err := os.ReadFile(j.path("prog.log"))
	if err != nil {
		j.t.Fatalf("listenprog's log: %v", err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// events are the log's lines that start with what, and their times.
func events(lines []string, what string) []int64 {
	var out []int64
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) >= 2 && strings.HasPrefix(l, what) {
			n, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			out = append(out, n)
		}
	}
	return out
}

// hammer connects to addr as fast as it can until stop is closed: every
// connection must be accepted and answered ("pid N").
type hammer struct {
	made, answered int
	refused        int
	errs           []string
	pids           map[string]bool
	// finished is closed when every client has stopped.
	finished chan struct{}
	mu       *sync.Mutex // guards the counts while the clients run
}

func hammerAt(addr string, workers int, stop <-chan struct{}) *hammer {
	h := &hammer{pids: map[string]bool{}, finished: make(chan struct{})}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", addr, 10*time.Second)
				mu.Lock()
				h.made++
				mu.Unlock()
				if err != nil {
					mu.Lock()
					if errors.Is(err, syscall.ECONNREFUSED) {
						h.refused++
					}
					h.errs = append(h.errs, err.Error())
					mu.Unlock()
					continue
				}
				// Linger 0: no TIME_WAIT left behind, so thousands of
				// connections never run out of ports.
				_ = c.(*net.TCPConn).SetLinger(0)
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\n')
				c.Close()
				mu.Lock()
				if err != nil || !strings.HasPrefix(line, "pid ") {
					h.errs = append(h.errs, fmt.Sprintf("unanswered: %q, %v", line, err))
				} else {
					h.answered++
					h.pids[strings.TrimSpace(line)] = true
				}
				mu.Unlock()
			}
		})
	}
	go func() { wg.Wait(); close(h.finished) }()
	h.mu = &mu
	return h
}

// madeSoFar is how many connections the clients made until now.
func (h *hammer) madeSoFar() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.made
}

// The test: a client connecting to a held TCP socket as fast as it
// can through 20 restarts and 5 crash restarts of the server sees no
// refused connection, and every connection it made is answered. The
// server checks LISTEN_PID against its own pid and exits 3 otherwise.
func TestListenSurvivesRestartsAndCrashes(t *testing.T) {
	j := newJob(t)
	addr := freePort(t)
	// Up is when the program says READY=1: its signal handlers are set
	// by then, so each restart and crash is the program's own exit.
	job := j.listenJob(addr, `, "-notify"`, "  forever = true\n  backoff-limit = 1\n", `healthcheck "notify" {}`+"\n"+`eventlog {
 level = "debug"
 logfile { path = "`+j.path("ev.log")+`" }
}
`)
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(j.path("ev.log"))
			t.Logf("event log:\n%s", b)
			b, _ = os.ReadFile(j.path("prog.log"))
			t.Logf("prog log:\n%s", b)
		}
	}()
	first := j.startOK("-C", job)
	stop := make(chan struct{})
	h := hammerAt(addr, 4, stop)
	pids := map[int]bool{first: true}
	for i := range 20 {
		r := j.must(0, "-C", job, "restart")
		m := restartedRe.FindStringSubmatch(r.out)
		if m == nil {
			t.Fatalf("restart %d: %q", i, r.out)
		}
		pid, _ := strconv.Atoi(m[2])
		pids[pid] = true
	}
	for i := range 5 {
		old, _ := strconv.Atoi(j.statusMap("-C", job)["application"])
		// The program crashes (exit status 1, after answering what it
		// accepted); the manager restarts it after its back-off (1 s),
		// and connections meanwhile wait in the socket's backlog.
		j.must(0, "-C", job, "kill", "USR1")
		var pid int
		// Up again: a new pid, and its READY=1 (testing=0) says it
		// handles its signals, so the next crash is its own.
		eventually(t, 15*time.Second, fmt.Sprintf("crash restart %d", i), func() bool {
			st := j.statusMap("-C", job)
			pid, _ = strconv.Atoi(st["application"])
			return pid != 0 && pid != old && st["testing"] == "0"
		})
		pids[pid] = true
	}
	// One more answered connection from the last program, then stop.
	eventually(t, 15*time.Second, "an answer from the last program", func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		return strings.HasPrefix(line, "pid ")
	})
	close(stop)
	select {
	case <-h.finished:
	case <-time.After(60 * time.Second):
		t.Fatal("the clients did not finish")
	}
	j.stopOK("-C", job)
	if h.refused != 0 || len(h.errs) != 0 || h.answered != h.made {
		t.Fatalf("%d connections made, %d answered, %d refused; errors (first 5): %q", h.made, h.answered, h.refused, h.errs[:min(5, len(h.errs))])
	}
	if len(pids) != 26 {
		t.Errorf("%d programs ran, want 26 (the first, 20 restarts, 5 crash restarts): %v", len(pids), pids)
	}
	log := j.progLog()
	if got := len(events(log, "crash ")); got != 5 {
		t.Errorf("%d crashes, want 5", got)
	}
	if got := len(events(log, "start ")); got != 26 {
		t.Errorf("%d programs started with a good LISTEN_PID, want 26:\n%s", got, strings.Join(log, "\n"))
	}
	if bad := events(log, "bad-listen-pid"); len(bad) > 0 {
		t.Errorf("LISTEN_PID was wrong %d times", len(bad))
	}
	t.Logf("%d connections, all answered, by %d of the 26 programs", h.made, len(h.pids))
	// stop closed the socket with the manager.
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("the address still accepts connections after stop")
	}
}

var sentRe = regexp.MustCompile(`^sent SIGHUP to pid (\d+)\n`)

// reload sends exactly one SIGHUP to the program and, with a notify
// check, returns after its READY=1: the program's own timestamps show
// RELOADING=1, then READY=1, and reload returned after both.
func TestReloadWaitsForReady(t *testing.T) {
	j := newJob(t)
	addr := freePort(t)
	job := j.listenJob(addr, `, "-notify", "-reload", "300ms"`, "", `healthcheck "notify" {}`+"\n")
	pid := j.startOK("-C", job)
	r := j.must(0, "-C", job, "reload")
	returned := time.Now().UnixNano()
	if m := sentRe.FindStringSubmatch(r.out); m == nil || m[1] != strconv.Itoa(pid) || !strings.HasSuffix(r.out, "\ndaemon process reloaded\n") {
		t.Fatalf("reload said %q (pid %d)", r.out, pid)
	}
	log := j.progLog()
	hups, reloading, ready := events(log, "signal SIGHUP"), events(log, "reloading"), events(log, "ready")
	if len(hups) != 1 || len(reloading) != 1 || len(ready) != 1 {
		t.Fatalf("SIGHUPs %d, RELOADING %d, READY %d, want one each:\n%s", len(hups), len(reloading), len(ready), strings.Join(log, "\n"))
	}
	if !(hups[0] <= reloading[0] && reloading[0] < ready[0] && ready[0] < returned) {
		t.Errorf("order: SIGHUP %d, RELOADING %d, READY %d, reload returned %d", hups[0], reloading[0], ready[0], returned)
	}
	if st := j.statusMap("-C", job); st["application"] != strconv.Itoa(pid) {
		t.Errorf("the program changed: %v, want pid %d", st["application"], pid)
	}
	j.stopOK("-C", job)
	r = j.must(1, "-C", job, "reload")
	if r.out != "daemon manager not running\n" {
		t.Errorf("reload of a stopped job: %q", r.out)
	}
}

// Without a notify check reload sends the signal and returns; a program
// that does not report within start-timeout is left running (exit 1).
func TestReloadWithoutNotifyAndTimeout(t *testing.T) {
	j := newJob(t)
	addr := freePort(t)
	job := j.listenJob(addr, "", "", "")
	pid := j.startOK("-C", job)
	// Without a notify check, up is the start grace: wait for the
	// program to say it handles its signals.
	eventually(t, 10*time.Second, "the program's start", func() bool {
		b, _ := os.ReadFile(j.path("prog.log"))
		return strings.Contains(string(b), "start ")
	})
	r := j.must(0, "-C", job, "reload")
	if r.out != fmt.Sprintf("sent SIGHUP to pid %d\n", pid) {
		t.Errorf("reload said %q", r.out)
	}
	eventually(t, 10*time.Second, "the program's SIGHUP", func() bool {
		b, _ := os.ReadFile(j.path("prog.log"))
		return strings.Contains(string(b), "hups 1 ")
	})
	j.stopOK("-C", job)

	// A program that takes 5 s to reload: reload gives up after
	// start-timeout (1 s) and leaves it running.
	j2 := newJob(t)
	job2 := j2.write("job.hcl", fmt.Sprintf(`runner {
  program       = ["%s", "-log", "%s", "-notify", "-reload", "5s"]
  socket-name   = "%s"
  start-timeout = 1
}
listen "web" { address = "%s" }
healthcheck "notify" {}
`, listenProg, j2.path("prog.log"), j2.path("zdsock"), freePort(t)))
	pid = j2.startOK("-C", job2)
	r = j2.must(1, "-C", job2, "reload")
	if want := fmt.Sprintf("sent SIGHUP to pid %d\nProgram took too long to reload (no RELOADING=1 and then READY=1 within 1s); it was left running\n", pid); r.out != want {
		t.Errorf("reload said %q, want %q", r.out, want)
	}
	if st := j2.statusMap("-C", job2); st["application"] != strconv.Itoa(pid) {
		t.Errorf("after the timeout: %v, want pid %d still running", st["application"], pid)
	}
	j2.stopOK("-C", job2)
}

// The original manager does not know reload: the client says so, exit 1.
func TestReloadAgainstOriginalManager(t *testing.T) {
	peer := originalPeer(t)
	j := newJob(t)
	prog := "sleep 100"
	if r := j.runWith(peer, "-p", prog, "start"); r.code != 0 {
		t.Fatalf("the original's start: %d %q %q", r.code, r.out, r.err)
	}
	defer j.runWith(peer, "-p", prog, "stop")
	r := j.must(1, "-p", prog, "reload")
	if !strings.Contains(r.out, "does not support reload") {
		t.Errorf("reload said %q", r.out)
	}
}

// stop-signal = "QUIT" is what stop and restart send.
func TestStopSignalQuit(t *testing.T) {
	j := newJob(t)
	// Up is the program's READY=1, after it set its signal handlers.
	job := j.listenJob(freePort(t), `, "-notify"`, "  stop-signal = \"QUIT\"\n", `healthcheck "notify" {}`+"\n")
	j.startOK("-C", job)
	j.must(0, "-C", job, "restart")
	j.stopOK("-C", job)
	log := j.progLog()
	if q, term := events(log, "signal SIGQUIT"), events(log, "signal SIGTERM"); len(q) != 2 || len(term) != 0 {
		t.Errorf("SIGQUIT %d times, SIGTERM %d times; want 2 and 0:\n%s", len(q), len(term), strings.Join(log, "\n"))
	}
}

// A held address is no error for the job's own manager: validate,
// status, a second start and stop of the running job all work; anyone
// else listening there is an error at the address, at validate and at
// start.
func TestListenAddressInUse(t *testing.T) {
	j := newJob(t)
	addr := freePort(t)
	job := j.listenJob(addr, "", "", "")
	pid := j.startOK("-C", job)
	j.must(0, "validate", job)
	j.must(0, "-C", job, "status")
	if r := j.must(0, "-C", job, "start"); r.out != fmt.Sprintf("daemon process already running; pid=%d\n", pid) {
		t.Errorf("second start: %q", r.out)
	}
	j.stopOK("-C", job)

	// A directory of a fixed length, so that the golden's lines wrap
	// the same way every time.
	busyDir := fmt.Sprintf("/tmp/zdbusy%08d", os.Getpid()%100000000)
	if err := os.Mkdir(busyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(busyDir)
	busy, err := net.Listen("unix", busyDir+"/s")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	job = j.listenJob("unix:"+busyDir+"/s", "", "", "")
	for _, tt := range []struct {
		golden string
		args   []string
	}{
		{"in-use-validate", []string{"validate", job}},
		{"in-use-start", []string{"-C", job, "start"}},
	} {
		r := j.run(tt.args...)
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2; %q %q", tt.golden, r.code, r.out, r.err)
		}
		got := r.out + "--- stderr\n" + r.err
		got = strings.ReplaceAll(strings.ReplaceAll(got, j.dir, "JOBDIR"), busyDir, "/tmp/zdbusyNNNNNNNN")
		got = regexp.MustCompile(`\^+`).ReplaceAllString(got, "^^^") // as long as JOBDIR was
		checkGolden(t, "testdata/listen/"+tt.golden+".golden", got)
	}
}

// Bad values are errors at their file:line:column, at validate and at
// start.
func TestListenConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"bad-validate", []string{"validate", "REPO/testdata/listen/bad.hcl"}},
		{"bad-start", []string{"-C", "REPO/testdata/listen/bad.hcl", "start"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			runGolden(t, "testdata/listen/"+tt.name+".golden", tt.args, 2)
		})
	}
}

// A manager that cannot hold the sockets says why through the hand-off,
// and the client shows it at the listen block: here the exec trampoline
// is missing beside zdrun.
func TestListenWithoutTrampoline(t *testing.T) {
	j := newJob(t)
	lone := j.installed("lone", zdaemonBin, zdrunBin)
	addr := freePort(t)
	job := j.listenJob(addr, "", "", "")
	r := j.runWith(filepath.Join(lone, "zdaemon"), "-C", job, "start")
	if r.code != 1 || !strings.Contains(r.err, "Error: Cannot listen\n\n  on "+job+`:6:8, in listen "web":`) ||
		!strings.Contains(r.err, "cannot find the exec trampoline zdexec next to") || !strings.HasSuffix(r.out, "daemon manager not running\n") {
		t.Fatalf("exit %d\nstdout %q\nstderr %q", r.code, r.out, r.err)
	}
	if err := listenFree(addr); err != nil {
		t.Errorf("the address after the failed start: %v", err)
	}
}

// listenFree says whether nobody listens at addr.
func listenFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}
