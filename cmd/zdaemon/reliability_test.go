package main

// The reliability suite: the real binary under hostile input and faults.
// Every case ends with "nothing left": the job's clean-up fails the test if
// any process of it survives.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// After stop, no descendant of the program survives: children that left
// its process group with setsid, children that ignore SIGTERM, and a storm
// of short-lived children.
func TestReliabilityNoDescendantSurvives(t *testing.T) {
	j := newJob(t)
	j.write("prog.sh", `setsid sleep 1000 &
echo $! >> pids
(trap '' TERM; exec sleep 1000) &
echo $! >> pids
# a fork storm of short-lived children, forever
while :; do for i in 1 2 3 4 5 6 7 8; do true & done; wait; done
`)
	conf := j.write("job.hcl", `runner {
  program      = "sh prog.sh"
  stop-timeout = 1
}
eventlog {
  logfile {
    path = "event.log"
  }
}
`)
	j.startOK("-C", conf)
	eventually(t, 5*time.Second, "two pids", func() bool {
		data, _ := os.ReadFile(j.path("pids"))
		return len(strings.Fields(string(data))) == 2
	})
	time.Sleep(200 * time.Millisecond) // let the storm run
	j.stopOK("-C", conf)
	data, _ := os.ReadFile(j.path("pids"))
	for _, f := range strings.Fields(string(data)) {
		pid, _ := strconv.Atoi(f)
		if alive(pid) {
			t.Errorf("pid %d survived stop", pid)
		}
	}
	events, _ := os.ReadFile(j.path("event.log"))
	if !regexp.MustCompile(`killed \d+ leftover process\(es\) of the program: \[`).Match(events) {
		t.Fatalf("event log does not report the leftovers: %s", events)
	}
}

// 10,000 malformed messages (binary, huge, unterminated, half-closed, slow
// writers) and then 200 clients at once mixing status with stop and start:
// the manager never crashes or hangs and answers every well-formed request
// correctly.
func TestReliabilityHostileControlSocket(t *testing.T) {
	j := newJob(t)
	p := []string{"-p", "sleep 1000"}
	pid := j.startOK(p...)
	sock := j.path("zdsock")
	rng := rand.New(rand.NewPCG(1, 2))
	messages := make([][]byte, 10000)
	for i := range messages {
		switch i % 6 {
		case 0: // random binary, maybe with a newline
			b := make([]byte, rng.IntN(200))
			for k := range b {
				b[k] = byte(rng.IntN(256))
			}
			messages[i] = b
		case 1: // huge
			messages[i] = bytes.Repeat([]byte{'x'}, 10001+rng.IntN(20000))
		case 2: // unterminated
			messages[i] = []byte("status")
		case 3: // a known command with junk
			messages[i] = []byte("kill " + strconv.Itoa(rng.IntN(100000)) + "x\n")
		case 4: // invalid UTF-8 command word
			messages[i] = []byte{0xff, 0xfe, '\n'}
		default: // empty or blank
			messages[i] = []byte("   \n")
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	work := make(chan []byte)
	for range 32 {
		wg.Go(func() {
			for msg := range work {
				c, err := net.Dial("unix", sock)
				if err != nil {
					mu.Lock()
					failures = append(failures, "dial: "+err.Error())
					mu.Unlock()
					continue
				}
				c.SetDeadline(time.Now().Add(20 * time.Second))
				c.Write(msg)
				c.(*net.UnixConn).CloseWrite()
				buf := make([]byte, 4096)
				n, _ := c.Read(buf)
				c.Close()
				reply := string(buf[:n])
				if !strings.HasSuffix(reply, "\n") {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("no reply to %.40q: %q", msg, reply))
					mu.Unlock()
				}
			}
		})
	}
	for _, m := range messages {
		work <- m
	}
	close(work)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d failures, first: %s", len(failures), failures[0])
	}
	// Slow writers: a byte at a time, and one that never finishes, while
	// others are served.
	slow, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Write([]byte("sta"))
	if r := j.must(0, append(p, "status")...); r.out != fmt.Sprintf("program running; pid=%d\n", pid) {
		t.Fatalf("status next to a slow writer: %q", r.out)
	}

	// 200 clients at once: status, with stop and start mixed in.
	statusRx := regexp.MustCompile(`^status=(running|stopped)\nnow=[\d.]+\nshould_be_up=[01]\ndelay=[\d.]+\nbackoff=\d+\nlasttime=[\d.]+\napplication=\d+\ntesting=[01]\nmanager=\d+\nbackofflimit=10\nfilename='[^']+'\nargs=\['sleep', '1000'\]\n$`)
	var bad []string
	for i := range 200 {
		wg.Go(func() {
			line := "status"
			switch i % 50 {
			case 7:
				line = "stop"
			case 8:
				line = "start"
			}
			c, err := net.Dial("unix", sock)
			if err != nil {
				return // the manager may be restarting the program: not an error
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			fmt.Fprintf(c, "%s\n", line)
			c.(*net.UnixConn).CloseWrite()
			var out bytes.Buffer
			out.ReadFrom(c)
			reply := out.String()
			ok := reply == "" // the manager exited: the connection just closes
			switch line {
			case "status":
				ok = ok || statusRx.MatchString(reply)
			case "stop":
				ok = ok || reply == "Sent SIGTERM\n" || reply == "Application already stopped\n" || reply == "Manager exiting\n"
			case "start":
				ok = ok || reply == "Application started\n" || reply == "Application already started\n" || reply == "Manager exiting\n"
			}
			if !ok {
				mu.Lock()
				bad = append(bad, fmt.Sprintf("%s: %q", line, reply))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d bad replies, first: %s", len(bad), bad[0])
	}
	// Whatever the mix did, the job is usable: start it and stop it.
	r := j.run(append(p, "start")...)
	if r.code != 0 {
		t.Fatalf("start after the storm: %d %q %q", r.code, r.out, r.err)
	}
	j.stopOK(p...)
}

// A program that closes its stdout, and one that writes without newlines
// as fast as it can: the manager neither cares nor loses a byte.
func TestReliabilityOutputShapes(t *testing.T) {
	j := newJob(t)
	conf := j.write("closed.hcl", `runner {
  program = ["sh", "-c", "exec >&- 2>&-; exec sleep 1000"]
}
transcript "file" {
  path = "closed.log"
}
`)
	j.startOK("-C", conf)
	j.stopOK("-C", conf)

	const size = 16 << 20
	conf = j.write("flood.hcl", fmt.Sprintf(`runner {
  program = ["sh", "-c", "head -c %d /dev/zero | tr '\\0' x; exec sleep 1000"]
}
transcript "file" {
  path = "flood.log"
}
`, size))
	j.startOK("-C", conf)
	eventually(t, 30*time.Second, "16 MiB in the transcript", func() bool {
		st, err := os.Stat(j.path("flood.log"))
		return err == nil && st.Size() >= size
	})
	j.stopOK("-C", conf)
	data, _ := os.ReadFile(j.path("flood.log"))
	if len(data) != size || bytes.Count(data, []byte{'x'}) != size {
		t.Fatalf("transcript has %d bytes, want %d x's", len(data), size)
	}
}

// SIGKILL to the manager at random moments of start, restart and stop: no
// program is orphaned, and the next start works.
func TestReliabilityManagerKilledAnytime(t *testing.T) {
	j := newJob(t)
	p := []string{"-p", "sleep 1000"}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 10 {
		action := []string{"start", "restart", "stop"}[i%3]
		if action != "start" {
			j.run(append(p, "start")...)
		}
		kv := map[string]string{}
		if r := j.run(append(p, "status", "-l")...); r.code == 0 {
			for _, line := range strings.Split(r.out, "\n") {
				if k, v, ok := strings.Cut(line, "="); ok {
					kv[k] = v
				}
			}
		}
		done := make(chan struct{})
		go func() { j.run(append(p, action)...); close(done) }()
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		// Kill whichever manager runs now (by pid from the socket, or the
		// one we saw before).
		mgr, _ := strconv.Atoi(kv["manager"])
		if r := j.run(append(p, "status", "-l")...); r.code == 0 {
			if m := regexp.MustCompile(`manager=(\d+)`).FindStringSubmatch(r.out); m != nil {
				mgr, _ = strconv.Atoi(m[1])
			}
		}
		if mgr > 0 {
			syscall.Kill(mgr, syscall.SIGKILL)
		}
		<-done
		eventually(t, 5*time.Second, "no orphaned program", func() bool {
			for _, pid := range j.leftovers() {
				cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				if bytes.HasPrefix(cmdline, []byte("sleep\x001000")) {
					// A program is fine only while its manager lives.
					st := procStat(t, pid)
					if ppid, _ := strconv.Atoi(st[1]); !alive(ppid) || ppid == 1 {
						return false
					}
				}
			}
			return true
		})
		// The next start works (stale socket or not), and stop cleans up.
		r := j.run(append(p, "start")...)
		if r.code != 0 {
			t.Fatalf("round %d (%s): start after SIGKILL: %d %q %q", i, action, r.code, r.out, r.err)
		}
		j.stopOK(p...)
	}
}

// A stopped (SIGSTOP) manager: clients time out instead of hanging, and
// after SIGCONT everything works.
func TestReliabilityManagerStopped(t *testing.T) {
	j := newJob(t)
	p := []string{"-p", "sleep 1000"}
	j.startOK(p...)
	mgr, _ := strconv.Atoi(j.statusMap(p...)["manager"])
	syscall.Kill(mgr, syscall.SIGSTOP)
	r := j.run(append(p, "status")...)
	syscall.Kill(mgr, syscall.SIGCONT)
	if r.took > 15*time.Second {
		t.Fatalf("status hung for %v", r.took)
	}
	j.must(0, append(p, "status")...)
	j.stopOK(p...)
}

// /dev/null as the transcript: a sink on a device works.
func TestReliabilityDevNullTranscript(t *testing.T) {
	j := newJob(t)
	conf := j.write("job.hcl", `runner {
  program = ["sh", "-c", "head -c 1000000 /dev/zero; exec sleep 1000"]
}
transcript "file" {
  path = "/dev/null"
}
`)
	j.startOK("-C", conf)
	if r := j.must(0, "-C", conf, "show"); !strings.Contains(r.out, "transcript file pid=") {
		t.Fatalf("show: %q", r.out)
	}
	j.stopOK("-C", conf)
}

// badPluginScript writes an executable that runs badplugin in mode.
func badPluginScript(j *job, mode string) string {
	path := j.write("bad-"+mode+".sh", fmt.Sprintf("#!/bin/sh\nexec %s %s\n", badPlugin, mode))
	os.Chmod(path, 0o755)
	return path
}

// Plugins that exit at once or speak another protocol version are clear
// errors before anything starts; nothing is left behind.
func TestReliabilityPluginRefusesToStart(t *testing.T) {
	for _, tc := range []struct{ mode, want string }{
		{"exit", "Transcript plugin failed"},
		{"version", "Plugin version: 99, Client versions: [1 2]"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			j := newJob(t)
			conf := j.write("job.hcl", fmt.Sprintf("runner {\n  program = \"sleep 1000\"\n}\ntranscript \"bad\" {\n  plugin = %q\n  path   = \"out.log\"\n}\n", badPluginScript(j, tc.mode)))
			for _, action := range [][]string{{"validate", conf}, {"-C", conf, "start"}} {
				r := j.must(2, action...)
				// The message is wrapped to the terminal's width after
				// the plugin's path, whose length is the temp dir's.
				if !strings.Contains(strings.Join(strings.Fields(r.err), " "), tc.want) {
					t.Fatalf("%v: stderr %q lacks %q", action, r.err, tc.want)
				}
			}
		})
	}
}

// A sink that floods its stderr and one whose Reopen hangs: the program's
// output still arrives, the manager stays responsive, stop works.
func TestReliabilityMisbehavingSinks(t *testing.T) {
	for _, mode := range []string{"flood", "hang"} {
		t.Run(mode, func(t *testing.T) {
			j := newJob(t)
			conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program = ["sh", "-c", "echo hello; exec sleep 1000"]
}
transcript "bad" {
  plugin = %q
  path   = "out.log"
}
eventlog {
  logfile {
    path   = "event.log"
    format = "%%(created)f %%(levelname)s %%(message)s"
  }
}
`, badPluginScript(j, mode)))
			j.startOK("-C", conf)
			waitFile(t, j.path("out.log"), "hello\n")
			if mode == "hang" {
				hangingReopen(t, j, conf)
				return
			}
			j.stopOK("-C", conf)
		})
	}
}

// reopenTimeout is how long the manager waits for a sink's Reopen
// (core/supervisor's reopenTimeout).
const reopenTimeout = 10 * time.Second

// reopenHangs is what badplugin's hanging sink logs when Reopen reaches it.
const reopenHangs = "reopen called: never answering"

// hangingReopen drives a job whose sink never answers Reopen: status is
// answered while the call hangs, the manager gives the call up at its
// timeout (times from the event log, not the test's clock), and a stop
// while a reopen hangs ends the manager at once: it does not wait for the
// plugin (it used to stay until the call's timeout, after "stopped").
func hangingReopen(t *testing.T, j *job, conf string) {
	t.Helper()
	mgr, _ := strconv.Atoi(j.statusMap("-C", conf)["manager"])
	reopen := func() <-chan result {
		done := make(chan result, 1)
		go func() { done <- j.run("-C", conf, "reopen_transcript") }()
		return done
	}
	hangs := func(n int) func() bool {
		return func() bool { return len(j.eventTimes(reopenHangs)) == n }
	}
	wait := func(done <-chan result) result {
		select {
		case r := <-done:
			return r
		case <-time.After(2 * time.Minute):
			t.Fatal("reopen_transcript still running after 2m")
			return result{}
		}
	}
	done := reopen()
	eventually(t, 20*time.Second, "the reopen to reach the sink", hangs(1))
	if r := j.must(0, "-C", conf, "status"); !strings.HasPrefix(r.out, "program running; pid=") {
		t.Fatalf("status while a reopen hangs: %q", r.out)
	}
	if len(j.eventTimes("reopen: ")) != 0 {
		t.Fatal("status was answered only once the hanging reopen ended")
	}
	if r := wait(done); r.code != 0 || r.took > 15*time.Second {
		t.Fatalf("reopen_transcript: exit %d after %v", r.code, r.took)
	}
	// The client leaves after its own timeout; the manager waits on for
	// its full timeout (a command sent is carried out), then gives up.
	eventually(t, reopenTimeout+30*time.Second, "the manager to give the reopen up", func() bool { return len(j.eventTimes("reopen: ")) == 1 })
	hung := j.eventTimes(reopenHangs)[0]
	gaveUp, line := j.eventAt("reopen: ")
	if !strings.HasSuffix(line, "failed to reopen its destination: it did not answer in time") {
		t.Fatalf("event log: %q", line)
	}
	// The hang line may reach the event log late on a loaded machine.
	if took := gaveUp.Sub(hung); took < reopenTimeout-2*time.Second || took > reopenTimeout+5*time.Second {
		t.Fatalf("the manager gave the reopen up %v after it reached the sink, want about %v", took, reopenTimeout)
	}

	// A stop while a reopen hangs: "stopped", and the manager exits
	// without waiting for the call, which it says it gave up.
	done = reopen()
	eventually(t, 20*time.Second, "the second reopen to reach the sink", hangs(2))
	j.stopOK("-C", conf)
	eventually(t, 20*time.Second, "the manager to exit", func() bool { return !alive(mgr) })
	if r := wait(done); r.code != 0 {
		t.Fatalf("reopen_transcript during stop: exit %d", r.code)
	}
	given := j.eventTimes("reopen: ")
	events, _ := os.ReadFile(j.path("event.log"))
	if len(given) != 2 || !strings.Contains(string(events), "failed to reopen its destination: it had not answered when the call was given up (the manager exits)\n") {
		t.Fatalf("event log:\n%s", events)
	}
	if took := given[1].Sub(j.eventTimes(reopenHangs)[1]); took >= reopenTimeout {
		t.Fatalf("the exiting manager waited %v for the hanging reopen", took)
	}
}

// A health check that crashes in every try: each try fails, the plugin is
// started again, start gives up at start-timeout, and stop works.
func TestReliabilityCrashingCheck(t *testing.T) {
	j := newJob(t)
	conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program       = "sleep 1000"
  start-timeout = 2
}
healthcheck "bad" {
  plugin   = %q
  interval = "200ms"
}
`, badPluginScript(j, "check-panic")))
	r := j.must(1, "-C", conf, "start")
	if !strings.HasSuffix(r.out, "\nProgram took too long to start\n") {
		t.Fatalf("start: %q", r.out)
	}
	if kv := j.statusMap("-C", conf); kv["testing"] != "1" || kv["application"] == "0" {
		t.Fatalf("status: %v", kv)
	}
	j.stopOK("-C", conf)
}

// The socket file deleted under the manager: it is recreated, so the job
// stays controllable and a second start does not run a second program.
func TestReliabilitySocketRemoved(t *testing.T) {
	j := newJob(t)
	p := []string{"-p", "sleep 1000"}
	pid := j.startOK(p...)
	if err := os.Remove(j.path("zdsock")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the socket to be back", func() bool { return j.run(append(p, "status")...).code == 0 })
	r := j.must(0, append(p, "start")...)
	if r.out != fmt.Sprintf("daemon process already running; pid=%d\n", pid) {
		t.Fatalf("start: %q", r.out)
	}
	j.stopOK(p...)
}

// The socket replaced by a regular file: the manager leaves the file
// alone and says so; a new start refuses to run beside it.
func TestReliabilitySocketReplaced(t *testing.T) {
	j := newJob(t)
	conf := j.write("job.hcl", `runner {
  program = "sleep 1000"
}
eventlog {
  logfile {
    path = "event.log"
  }
}
`)
	j.startOK("-C", conf)
	mgr, _ := strconv.Atoi(j.statusMap("-C", conf)["manager"])
	j.write("other", "someone else's file")
	if err := os.Rename(j.path("other"), j.path("zdsock")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the manager to notice", func() bool {
		events, _ := os.ReadFile(j.path("event.log"))
		return strings.Contains(string(events), "was removed or replaced and cannot be recreated")
	})
	r := j.must(1, "-C", conf, "start")
	if !strings.Contains(r.err, "not a socket") {
		t.Fatalf("start beside the file: %q", r.err)
	}
	if data, _ := os.ReadFile(j.path("zdsock")); string(data) != "someone else's file" {
		t.Fatal("the file was touched")
	}
	// The manager still runs its program; SIGTERM stops both.
	syscall.Kill(mgr, syscall.SIGTERM)
	eventually(t, 10*time.Second, "the manager to stop", func() bool { return !alive(mgr) })
}

// The transcript's directory removed: the program is not disturbed, and
// once the directory is back, reopen_transcript writes there again.
func TestReliabilityTranscriptDirRemoved(t *testing.T) {
	j := newJob(t)
	os.Mkdir(j.path("logs"), 0o755)
	data, _ := os.Create(j.path("data"))
	defer data.Close()
	conf := j.write("job.hcl", `runner {
  program = ["tail", "-f", "data"]
}
transcript "file" {
  path = "logs/out.log"
}
`)
	pid := j.startOK("-C", conf)
	data.WriteString("one\n")
	waitFile(t, j.path("logs/out.log"), "one\n")
	os.RemoveAll(j.path("logs"))
	data.WriteString("two\n")
	j.must(0, "-C", conf, "reopen_transcript") // fails inside: the directory is gone
	if !alive(pid) {
		t.Fatal("the program died")
	}
	os.Mkdir(j.path("logs"), 0o755)
	j.must(0, "-C", conf, "reopen_transcript")
	data.WriteString("three\n")
	waitFile(t, j.path("logs/out.log"), "three\n")
	j.stopOK("-C", conf)
}

// A full disk (a small tmpfs): the sink holds the bytes and retries; once
// there is room, every byte arrives, in order.
func TestReliabilityDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: mounting a small tmpfs needs root")
	}
	j := newJob(t)
	disk := j.path("disk")
	os.Mkdir(disk, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: cannot mount a tmpfs here: %v %s", err, out)
	}
	defer exec.Command("umount", "-l", disk).Run()
	const n = 80000 // about 450 KiB of counter lines
	conf := counterJob(j, n, "")
	conf = j.write("job.hcl", strings.Replace(mustRead(t, conf), `path = "out.log"`, `path = "disk/out.log"`, 1))
	j.startOK("-C", conf)
	eventually(t, 20*time.Second, "the sink to report the full disk", func() bool {
		events, _ := os.ReadFile(j.path("event.log"))
		return strings.Contains(string(events), "no space left on device")
	})
	if out, err := exec.Command("mount", "-o", "remount,size=4m", disk).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	last := fmt.Sprintf("%d\n", n-1)
	eventually(t, 30*time.Second, "the last line", func() bool {
		got, _ := os.ReadFile(j.path("disk/out.log"))
		return bytes.HasSuffix(got, []byte(last))
	})
	got, _ := os.ReadFile(j.path("disk/out.log"))
	if lost := missingBytes(t, got, n); lost != 0 {
		t.Fatalf("lost %d bytes to the full disk", lost)
	}
	j.stopOK("-C", conf)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A check that hangs: each try ends at its timeout as a failure, and the
// next try can pass. The check hangs in its first try and passes in the
// next (a file marks the first), so that what happens does not depend on
// how fast a loaded machine starts the manager; times come from the event
// log.
func TestReliabilityHangingCheck(t *testing.T) {
	j := newJob(t)
	j.write("check.sh", "test -e tried && exit 0\n: >tried\nexec sleep 30\n")
	const timeout = 200 * time.Millisecond
	conf := j.write("job.hcl", `runner {
  program = "sleep 1000"
}
healthcheck "program" {
  command  = "sh check.sh"
  interval = "100ms"
  timeout  = "200ms"
}
eventlog {
  level = "debug"
  logfile {
    path   = "event.log"
    format = "%(created)f %(levelname)s %(message)s"
  }
}
`)
	r := j.must(0, "-C", conf, "start")
	if !startedRe.MatchString(r.out) {
		t.Fatalf("start: %q after %v", r.out, r.took)
	}
	spawned, _ := j.eventAt("spawned process")
	// The plugin's own timeout ends the hung try (its answer, the killed
	// command, comes with the host's word) or, on a loaded machine, the
	// host's deadline for the try comes first: all say the check hung.
	timedOut, line := j.eventAt("start test failed")
	if !regexp.MustCompile(`start test failed \(program check (timed out after 200ms( \(sh check\.sh: signal: killed\))?|failed: check: it did not answer in time)\)$`).MatchString(line) {
		t.Fatalf("the first try: %q", line)
	}
	running, _ := j.eventAt("state starting -> running")
	// The first try began after the spawn and ended at its timeout, not
	// when its sleep would have; the program counted as started only
	// after that, through the next try.
	if took := timedOut.Sub(spawned); took < timeout || took > timeout+5*time.Second {
		t.Fatalf("the hanging try ended %v after the spawn, want its timeout %v (+ margin)", took, timeout)
	}
	if !running.After(timedOut) {
		events, _ := os.ReadFile(j.path("event.log"))
		t.Fatalf("started before the hanging try timed out:\n%s", events)
	}
	j.stopOK("-C", conf)
}

// A sink built against protocol version 1 (before the base service) still
// works with this manager: validate checks its block against the schema it
// declares, start runs it, the output arrives, and stop drains it. Errors
// carry no gRPC wording.
func TestReliabilityProtocolVersion1Sink(t *testing.T) {
	j := newJob(t)
	plugin := badPluginScript(j, "v1")
	bad := j.write("bad.hcl", fmt.Sprintf("runner {\n  program = \"sleep 1\"\n}\ntranscript \"v1\" {\n  plugin = %q\n  path   = true\n  color  = 1\n}\n", plugin))
	r := j.must(2, "validate", bad)
	if !strings.Contains(r.err, "on "+bad+":7:3") || strings.Contains(r.err, "rpc error") {
		t.Fatalf("validate: stderr %q", r.err)
	}
	conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program = ["sh", "-c", "echo one; echo two; exec sleep 1000"]
}
transcript "v1" {
  plugin = %q
  path   = "out.log"
}
eventlog {
  logfile {
    path = "event.log"
  }
}
`, plugin))
	j.must(0, "validate", conf)
	j.startOK("-C", conf)
	waitFile(t, j.path("out.log"), "one\ntwo\n")
	if r := j.must(0, "-C", conf, "show"); !strings.Contains(r.out, "transcript v1 ("+plugin+") pid=") {
		t.Fatalf("show: %q", r.out)
	}
	j.stopOK("-C", conf)
	if got, _ := os.ReadFile(j.path("out.log")); !strings.HasPrefix(string(got), "one\ntwo\n") {
		t.Fatalf("out.log %q", got)
	}
	if events, _ := os.ReadFile(j.path("event.log")); strings.Contains(string(events), "rpc error") {
		t.Fatalf("event log:\n%s", events)
	}
}

// A start right after a stop: the stop returns once the old manager has
// let go of the control socket, while it still drains its sink and stops
// its plugins. Nothing of the job's that the new manager uses may be
// shared with the old one or removed by it: the plugin socket directory,
// the notification socket, the held listen socket (TCP and a unix path),
// the metrics endpoint.
// Before, about one start in eight failed ("plugin built-in transcript
// file did not start: stat .zdsock.plugins: no such file or directory").
func TestReliabilityStartRightAfterStop(t *testing.T) {
	tests := []struct{ name, addr string }{
		{"tcp listen socket", "127.0.0.1:0"},
		{"unix listen socket", "unix:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJob(t)
			addr := tt.addr
			switch addr {
			case "unix:":
				addr += j.path("web.sock")
			default:
				addr = freePort(t)
			}
			conf := j.listenJob(addr, `, "-notify"`, "", fmt.Sprintf(`healthcheck "notify" {}
transcript "file" {
  path = "out.log"
}
metrics {
  address = %q
}
eventlog {
  logfile {
    path = "event.log"
  }
}
`, freePort(t)))
			const rounds = 15
			var mgr int
			for i := range rounds {
				r := j.run("-C", conf, "start")
				if r.code != 0 || !startedRe.MatchString(r.out) {
					t.Fatalf("start %d of %d right after a stop: exit %d, stdout %q, stderr %q", i+1, rounds, r.code, r.out, r.err)
				}
				mgr, _ = strconv.Atoi(j.statusMap("-C", conf)["manager"])
				j.stopOK("-C", conf)
			}
			// Each manager let go of its parts without an error (a closed
			// metrics endpoint is no serving error, a removed directory
			// no failed clean). A new sink waiting for the old one's lock
			// on the transcript is a warning, and expected.
			eventually(t, 20*time.Second, "the last manager to exit", func() bool { return mgr > 0 && !alive(mgr) })
			log, _ := os.ReadFile(j.path("event.log"))
			for _, line := range strings.Split(string(log), "\n") {
				if strings.Contains(line, " ERROR ") || strings.Contains(line, " CRITICAL ") {
					t.Errorf("event log: %s", line)
				}
			}
		})
	}
}
