package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stampAt reads a readyprog stamp (unix nanoseconds), waiting for it.
func (j *job) stampAt(name string, within time.Duration) time.Time {
	j.t.Helper()
	var ns int64
	eventually(j.t, within, name, func() bool {
		b, err := os.ReadFile(j.path(name))
		if err != nil {
			return false
		}
		ns, err = strconv.ParseInt(string(b), 10, 64)
		return err == nil
	})
	return time.Unix(0, ns)
}

// eventAt finds the first event-log line (format "%(created)f ...")
// containing what, and returns its time.
func (j *job) eventAt(what string) (time.Time, string) {
	j.t.Helper()
	events, _ := os.ReadFile(j.path("event.log"))
	for _, line := range strings.Split(string(events), "\n") {
		if !strings.Contains(line, what) {
			continue
		}
		f, err := strconv.ParseFloat(strings.Fields(line)[0], 64)
		if err != nil {
			j.t.Fatalf("event log line %q: %v", line, err)
		}
		return time.Unix(0, int64(f*1e9)), line
	}
	j.t.Fatalf("no %q in the event log:\n%s", what, events)
	return time.Time{}, ""
}

// eventTimes returns the times of every event-log line (format
// "%(created)f ...") containing what, in order; none when there is no
// event log yet.
func (j *job) eventTimes(what string) []time.Time {
	j.t.Helper()
	events, _ := os.ReadFile(j.path("event.log"))
	var times []time.Time
	for _, line := range strings.Split(string(events), "\n") {
		if !strings.Contains(line, what) {
			continue
		}
		f, err := strconv.ParseFloat(strings.Fields(line)[0], 64)
		if err != nil {
			j.t.Fatalf("event log line %q: %v", line, err)
		}
		times = append(times, time.Unix(0, int64(f*1e9)))
	}
	return times
}

// newPid waits until status names a program other than old.
func (j *job) newPid(conf string, old int) int {
	j.t.Helper()
	var pid int
	eventually(j.t, 20*time.Second, "the restarted program", func() bool {
		kv := j.statusMap("-C", conf)
		pid, _ = strconv.Atoi(kv["application"])
		return pid != 0 && pid != old
	})
	return pid
}

const timedEventLog = `
eventlog {
  level = "info"
  logfile {
    path   = "event.log"
    format = "%(created)f %(levelname)s %(message)s"
  }
}
`

// A program whose http check starts to hang is restarted after failures
// × interval (± one interval), measured from its own stamps and the event
// log's, through SIGTERM (it then exits 0, which is not taken for its own
// exit status), and the event log says why.
// hungTry is how a hung http try of 100 ms ends: by the plugin's
// timeout, or by the host's deadline for the try.
const hungTry = `(http check timed out after 100ms( \(GET .*\))?|http check failed: check: it did not answer in time)`

func TestLivenessRestartsHungProgram(t *testing.T) {
	j := newJob(t)
	web := freePort(t)
	const interval, failures = 200 * time.Millisecond, 3
	conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program = [%q, "-http", %q, "-sick-after", "1s", "-stamps", "."]
}
healthcheck "http" {
  url      = "http://%s/health"
  interval = "100ms"
  timeout  = "100ms"
  liveness {
    interval = "%v"
    failures = %d
  }
}
`, readyProg, web, web, interval, failures)+timedEventLog)
	pid := j.startOK("-C", conf)
	sick := j.stampAt(fmt.Sprintf("sick.%d", pid), 10*time.Second)
	term := j.stampAt(fmt.Sprintf("term.%d", pid), 10*time.Second)
	logged, line := j.eventAt("failed 3 times in a row")
	want := failures * interval
	t.Logf("check hangs -> SIGTERM %v, -> event log line %v (want %v ± %v)", term.Sub(sick), logged.Sub(sick), want, interval)
	for what, d := range map[string]time.Duration{"SIGTERM": term.Sub(sick), "the event log's line": logged.Sub(sick)} {
		if d < want-interval || d > want+interval {
			t.Errorf("%s %v after the check began to hang; want %v ± %v", what, d, want, interval)
		}
	}
	// The plugin's own timeout ends the try (or its GET at its end), or,
	// on a loaded machine, the host's deadline for the try comes first:
	// both say the check hung.
	if !regexp.MustCompile(fmt.Sprintf(`ERROR pid %d: liveness check http failed 3 times in a row \(every 200ms\), the last: %s; restarting the program$`, pid, hungTry)).MatchString(line) {
		t.Errorf("event log line %q", line)
	}
	next := j.newPid(conf, pid)
	if _, line := j.eventAt("sleep 1 to avoid rapid restarts"); line == "" {
		t.Error("no back-off")
	}
	r := j.must(0, "-C", conf, "show")
	if !regexp.MustCompile(`health:\n    liveness http: every 200ms, restart after 3 failures; \d failed in a row; .*last failure [0-9.]+s ago: ` + hungTry + `; restarted the program [1-9] time\(s\)\n`).MatchString(r.out) {
		t.Errorf("show:\n%s", r.out)
	}
	j.stopOK("-C", conf)
	if alive(next) {
		t.Errorf("pid %d outlived stop", next)
	}
}

// A program that stops sending WATCHDOG=1 gets SIGABRT one period after
// its last one (its child's WATCHDOG=1 count for nothing), and is
// restarted; each run's WATCHDOG_PID is its own pid; its STATUS= text is
// shown.
func TestWatchdogAbortsSilentProgram(t *testing.T) {
	j := newJob(t)
	conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program  = [%q, "-watchdog-for", "1s", "-status", "pinging\tfor a second", "-stamps", "."]
  watchdog = "1s"
}
`, readyProg)+timedEventLog)
	pid := j.startOK("-C", conf)
	abrt := j.stampAt(fmt.Sprintf("abrt.%d", pid), 10*time.Second)
	ping := j.stampAt(fmt.Sprintf("ping.%d", pid), time.Second)
	if d := abrt.Sub(ping); d < time.Second || d > 1500*time.Millisecond {
		t.Errorf("SIGABRT %v after the last WATCHDOG=1; want one period (1s)", d)
	}
	logged, line := j.eventAt("sending SIGABRT")
	t.Logf("last WATCHDOG=1 -> SIGABRT %v, -> event log line %v (period 1s)", abrt.Sub(ping), logged.Sub(ping))
	if d := logged.Sub(ping); d < time.Second || d > 1500*time.Millisecond {
		t.Errorf("logged %v after the last WATCHDOG=1", d)
	}
	if !strings.Contains(line, fmt.Sprintf("ERROR watchdog: pid %d sent no WATCHDOG=1 within 1s; sending SIGABRT and restarting the program", pid)) {
		t.Errorf("event log line %q", line)
	}
	next := j.newPid(conf, pid)
	for _, p := range []int{pid, next} {
		var got string
		eventually(t, 5*time.Second, "the pid stamp", func() bool {
			b, err := os.ReadFile(j.path(fmt.Sprintf("pid.%d", p)))
			got = string(b)
			return err == nil
		})
		if want := fmt.Sprintf("%d %d", p, p); got != want {
			t.Errorf("WATCHDOG_PID and pid %q, want %q", got, want)
		}
	}
	r := j.must(0, "-C", conf, "show")
	if !strings.Contains(r.out, "watchdog:     1.0\n") ||
		!regexp.MustCompile(`health:\n    status: 'pinging for a second' \(pid \d+, [0-9.]+s ago\)\n    watchdog: every 1s; last WATCHDOG=1 (none yet|[0-9.]+s ago); missed [1-9] time\(s\)\n`).MatchString(r.out) {
		t.Errorf("show:\n%s", r.out)
	}
	j.stopOK("-C", conf)
	if matches, _ := filepath.Glob(j.path("abrt.*")); len(matches) == 0 {
		t.Error("no SIGABRT stamp")
	}
}

// Bad liveness and watchdog values are errors at the value, at validate
// and at start.
func TestLivenessConfigErrors(t *testing.T) {
	for _, action := range []string{"validate", "start"} {
		t.Run(action, func(t *testing.T) {
			args := []string{"validate", "REPO/testdata/jobs/bad-liveness.hcl"}
			if action == "start" {
				args = []string{"-C", "REPO/testdata/jobs/bad-liveness.hcl", "start"}
			}
			runGolden(t, filepath.Join("testdata", "cli", action+"-bad-liveness.golden"), args, 2)
		})
	}
}

// A liveness check's plugin that crashes in the middle of a try: that is
// one failed try; the plugin is started again, the next try passes, and
// the program keeps running.
func TestLivenessCheckPluginCrash(t *testing.T) {
	j := newJob(t)
	j.write("go", "")
	j.write("check.sh", "test -e go && exit 0\nexec sleep 30\n")
	conf := j.write("job.hcl", `runner {
  program = "sleep 100"
}
healthcheck "program" {
  command = "sh check.sh"
  timeout = 60
  liveness {
    interval = "200ms"
    failures = 2
  }
}
`+timedEventLog)
	pid := j.startOK("-C", conf)
	var plugin int
	eventually(t, 10*time.Second, "the liveness check's plugin", func() bool {
		m := regexp.MustCompile(`healthcheck program pid=(\d+)`).FindStringSubmatch(j.must(0, "-C", conf, "show").out)
		if m != nil {
			plugin, _ = strconv.Atoi(m[1])
		}
		return plugin != 0
	})
	os.Remove(j.path("go"))
	time.Sleep(600 * time.Millisecond) // a try now waits in its 30 s sleep
	if err := syscall.Kill(plugin, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	j.write("go", "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		events, _ := os.ReadFile(j.path("event.log"))
		if strings.Contains(string(events), "liveness check program passed again") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no passing try within 10s of the crash:\n%s", events)
		}
		time.Sleep(10 * time.Millisecond)
	}
	j.eventAt("liveness check program failed (1 of 2 in a row): program check failed")
	j.eventAt(fmt.Sprintf("health check program (pid %d) died; starting it again", plugin))
	if kv := j.statusMap("-C", conf); kv["application"] != strconv.Itoa(pid) {
		t.Fatalf("the program was restarted: %v", kv)
	}
	j.stopOK("-C", conf)
}
