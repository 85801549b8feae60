package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freePort returns a TCP port nothing listens on (for a moment).
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// The seed README's start-test section (the original's tests.py case): the
// program creates x after a while; start waits for "cat x" to pass.
func TestReadmeStartTestProgram(t *testing.T) {
	j := newJob(t)
	j.write("prog.sh", "sleep 1.5; touch x; exec sleep 100\n")
	j.write("conf", `<runner>
  program sh prog.sh
  start-test-program cat x
</runner>
<eventlog>
  level debug
  <logfile>
    path event.log
  </logfile>
</eventlog>
`)
	r := j.must(0, "-Cconf", "start")
	if !startedRe.MatchString(r.out) || !strings.HasPrefix(r.out, ". ") || r.took < 1400*time.Millisecond {
		t.Fatalf("start: %q after %v", r.out, r.took)
	}
	events, _ := os.ReadFile(j.path("event.log"))
	if strings.Count(string(events), "start test failed") < 1 || strings.Count(string(events), "start test succeeded") != 1 {
		t.Fatalf("event log: %s", events)
	}
	// How long the test took until it passed, and its tries (a try a
	// second from the start; x appears after 1.5 s): in status -json and
	// the metrics alike.
	first := startTestFigures(t, j, "-Cconf")
	if first.LastTries < 2 || first.LastSeconds < 1 || first.LastSeconds > r.took.Seconds() {
		t.Errorf("start test after start: %+v (start took %v)", first, r.took)
	}
	// restart waits for the test again (x exists now: at once).
	j.must(0, "-Cconf", "restart")
	events, _ = os.ReadFile(j.path("event.log"))
	if strings.Count(string(events), "start test succeeded") != 2 {
		t.Fatalf("event log after restart: %s", events)
	}
	if again := startTestFigures(t, j, "-Cconf"); again.LastTries != 1 || again.LastSeconds >= first.LastSeconds {
		t.Errorf("start test after restart: %+v (first %+v)", again, first)
	}
	j.stopOK("-Cconf")
}

// A start test that never passes: start gives up at start-timeout with the
// original's message; the program stays, still being tested.
func TestStartTimeoutWhileTesting(t *testing.T) {
	j := newJob(t)
	j.write("conf", "<runner>\n  program sleep 100\n  start-test-program false\n  start-timeout 1\n</runner>\n")
	r := j.must(1, "-Cconf", "start")
	if !regexp.MustCompile(`^(\. )*\nProgram took too long to start\n$`).MatchString(r.out) || r.took < time.Second || r.took > 3*time.Second {
		t.Fatalf("start: %q after %v", r.out, r.took)
	}
	kv := j.statusMap("-Cconf")
	if kv["application"] == "0" || kv["testing"] != "1" {
		t.Fatalf("status: %v", kv)
	}
	j.stopOK("-Cconf")
}

func TestBuiltinChecks(t *testing.T) {
	tcp, web := freePort(t), freePort(t)
	tests := []struct {
		name, args, check string
	}{
		{"tcp", "-tcp " + tcp, fmt.Sprintf("healthcheck \"tcp\" {\n  address = %q\n  interval = \"100ms\"\n}", tcp)},
		{"http", "-http " + web, fmt.Sprintf("healthcheck \"http\" {\n  url = \"http://%s/health\"\n  body = \"all good\"\n  interval = \"100ms\"\n}", web)},
		{"unix", "-unix app.sock", "healthcheck \"unix\" {\n  path = \"app.sock\"\n  interval = \"100ms\"\n}"},
		{"notify", "-notify", "healthcheck \"notify\" {}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJob(t)
			args := append([]string{readyProg, "-delay", "600ms", "-stamp", "ready"}, strings.Fields(tt.args)...)
			quoted := make([]string, len(args))
			for i, a := range args {
				quoted[i] = strconv.Quote(a)
			}
			conf := j.write("job.hcl", fmt.Sprintf("runner {\n  program = [%s]\n}\n%s\n", strings.Join(quoted, ", "), tt.check))
			r := j.must(0, "-C", conf, "start")
			if !startedRe.MatchString(r.out) {
				t.Fatalf("start: %q", r.out)
			}
			stamp, err := os.ReadFile(j.path("ready"))
			if err != nil {
				t.Fatal("start returned before the program was ready")
			}
			ns, _ := strconv.ParseInt(string(stamp), 10, 64)
			if lag := time.Since(time.Unix(0, ns)); lag > 5*time.Second {
				t.Fatalf("readiness lag %v", lag)
			}
			if r := j.must(0, "-C", conf, "show"); !strings.Contains(r.out, "healthcheck "+tt.name+" pid=") {
				t.Fatalf("show: %q", r.out)
			}
			j.stopOK("-C", conf)
		})
	}
}

// A check plugin killed in the middle of a try: that try failed, the
// plugin is started again, and the next try can pass.
func TestCheckPluginKilledMidCheck(t *testing.T) {
	j := newJob(t)
	j.write("check.sh", "test -e go && exit 0\nsleep 30\n")
	conf := j.write("job.hcl", `runner {
  program = "sleep 100"
}
healthcheck "program" {
  command  = "sh check.sh"
  interval = "100ms"
  timeout  = 60
}
eventlog {
  level = "debug"
  logfile {
    path = "event.log"
  }
}
`)
	done := make(chan result, 1)
	go func() { done <- j.run("-C", conf, "start") }()
	var plugin int
	eventually(t, 10*time.Second, "the check plugin", func() bool {
		r := j.run("-C", conf, "show")
		m := regexp.MustCompile(`healthcheck program pid=(\d+)`).FindStringSubmatch(r.out)
		if m == nil {
			return false
		}
		plugin, _ = strconv.Atoi(m[1])
		return true
	})
	time.Sleep(300 * time.Millisecond) // inside the first, 30 s try
	j.write("go", "")
	if err := syscall.Kill(plugin, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.code != 0 || !startedRe.MatchString(r.out) || r.took > 20*time.Second {
			t.Fatalf("start: exit %d %q after %v", r.code, r.out, r.took)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("start did not return")
	}
	events, _ := os.ReadFile(j.path("event.log"))
	if !strings.Contains(string(events), fmt.Sprintf("health check program (pid %d) died; starting it again", plugin)) ||
		!strings.Contains(string(events), "start test failed") {
		t.Fatalf("event log: %s", events)
	}
	j.stopOK("-C", conf)
}

func TestCheckConfigErrors(t *testing.T) {
	j := newJob(t)
	for _, tc := range []struct {
		body, want string
	}{
		{"healthcheck \"tcp\" {\n  address = \"nope\"\n}", "Error: Invalid address\n\n  on JOB:5:13, in healthcheck \"tcp\":"},
		{"healthcheck \"http\" {\n  url = \"ftp://x\"\n}", "Error: Invalid url\n\n  on JOB:5:9"},
		{"healthcheck \"tcp\" {\n}", "Error: Missing required argument\n\n  on JOB:4:19"},
		{"healthcheck \"ping\" {\n}", "Error: Unknown health check \"ping\"\n\n  on JOB:4:1"},
		{"healthcheck \"http\" {\n  url = \"http://x/\"\n  status = 99\n}", "Error: Invalid status\n\n  on JOB:6:12"},
	} {
		conf := j.write("bad.hcl", "runner {\n  program = \"sleep 1\"\n}\n"+tc.body+"\n")
		r := j.must(2, "validate", conf)
		if want := strings.ReplaceAll(tc.want, "JOB", conf); !strings.Contains(r.err, want) {
			t.Errorf("%s:\nstderr %q\nwant %q", tc.body, r.err, want)
		}
	}
}

// A third-party check from examples/, built and loaded by path.
func TestExternalCheckPlugin(t *testing.T) {
	j := newJob(t)
	j.buildExample("healthcheck-logline") // the job names it by its relative path
	j.write("app.log", "Listening on port 1 (an old run)\n")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(j.path("app.log"), old, old)
	j.write("prog.sh", "sleep 0.5; echo 'Listening on port 8080' >> app.log; exec sleep 100\n")
	conf := j.write("job.hcl", `runner {
  program = "sh prog.sh"
}
healthcheck "logline" {
  plugin   = "healthcheck-logline"
  path     = "app.log"
  pattern  = "Listening on port \\d+"
  interval = "100ms"
}
`)
	r := j.must(0, "-C", conf, "start")
	if !startedRe.MatchString(r.out) || r.took < 500*time.Millisecond {
		t.Fatalf("start: %q after %v (the old log line must not count)", r.out, r.took)
	}
	j.stopOK("-C", conf)
	bad := j.write("bad.hcl", "runner {\n  program = \"sleep 1\"\n}\nhealthcheck \"logline\" {\n  plugin  = \"healthcheck-logline\"\n  path    = \"app.log\"\n  pattern = \"(\"\n}\n")
	r = j.must(2, "validate", bad)
	if !strings.Contains(r.err, "Error: Invalid pattern\n\n  on "+bad+":7:13") {
		t.Fatalf("stderr %q", r.err)
	}
}

// s6's notification-fd: the program writes a line to its fd 5.
func TestNotifyFD(t *testing.T) {
	j := newJob(t)
	j.write("prog.sh", "sleep 0.5; date +%s%N > ready; echo >&5; exec 5>&-; exec sleep 100\n")
	conf := j.write("job.hcl", `runner {
  program = "sh prog.sh"
}
healthcheck "notify" {
  fd = 5
}
`)
	r := j.must(0, "-C", conf, "start")
	if !startedRe.MatchString(r.out) || r.took < 500*time.Millisecond {
		t.Fatalf("start: %q after %v", r.out, r.took)
	}
	if _, err := os.Stat(j.path("ready")); err != nil {
		t.Fatal("start returned before the program reported")
	}
	// A restart reports again on the same pipe.
	r = j.must(0, "-C", conf, "restart")
	if !restartedRe.MatchString(r.out) || r.took < 500*time.Millisecond {
		t.Fatalf("restart: %q after %v", r.out, r.took)
	}
	j.stopOK("-C", conf)
}

// startTestFigures is how the job's first start test last passed, from
// status -json, checked against zdaemon metrics.
func startTestFigures(t *testing.T, j *job, args ...string) (st struct {
	LastSeconds float64 `json:"last_seconds"`
	LastTries   int     `json:"last_tries"`
}) {
	t.Helper()
	var info struct {
		Checks []struct {
			StartTest *struct {
				LastPassed  *time.Time `json:"last_passed"`
				LastSeconds float64    `json:"last_seconds"`
				LastTries   int        `json:"last_tries"`
			} `json:"start_test"`
		}
	}
	r := j.must(0, append(args, "status", "-json")...)
	if err := json.Unmarshal([]byte(r.out), &info); err != nil || len(info.Checks) != 1 || info.Checks[0].StartTest == nil || info.Checks[0].StartTest.LastPassed == nil {
		t.Fatalf("status -json: %v\n%s", err, r.out)
	}
	st.LastSeconds, st.LastTries = info.Checks[0].StartTest.LastSeconds, info.Checks[0].StartTest.LastTries
	families := scrape(t, j, args...)
	labels := map[string]string{"check": "1"}
	if got := metricValue(t, families, "zdaemon_start_test_tries", labels); got != float64(st.LastTries) {
		t.Errorf("zdaemon_start_test_tries %v, status -json %d", got, st.LastTries)
	}
	if got := metricValue(t, families, "zdaemon_start_test_duration_seconds", labels); got != st.LastSeconds {
		t.Errorf("zdaemon_start_test_duration_seconds %v, status -json %v", got, st.LastSeconds)
	}
	return st
}
