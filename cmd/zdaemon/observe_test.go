package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

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
	// stop returns once the program is gone; the manager writes its last
	// record ("Exiting") as it exits, a moment later.
	var data []byte
	eventually(t, 10*time.Second, "the manager's last record", func() bool {
		data, _ = os.ReadFile(j.path("events.log"))
		return bytes.Contains(data, []byte("Exiting"))
	})
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
	cmd := j.background(ctx, nil, unshare, "--pid", "--fork", "--mount-proc", zdaemonBin,
		"-p", prog, "-s", "zdsock", "run")
	out, errb, done := &cmd.out, &cmd.err, cmd.done
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
	cmd := j.background(ctx, nil, zdaemonBin, "-p", prog, "-s", "zdsock", "-t", "out.log", "run")
	eventually(t, 30*time.Second, "the transcript", func() bool {
		data, _ := os.ReadFile(j.path("out.log"))
		return strings.Contains(string(data), "to-the-transcript\n")
	})
	j.must(0, "-p", prog, "-s", "zdsock", "stop")
	select {
	case <-cmd.done:
	case <-ctx.Done():
		t.Fatal("run did not exit after stop")
	}
	if strings.Contains(cmd.out.String(), "to-the-transcript") {
		t.Errorf("the program's output also reached run's stdout: %q", cmd.out.String())
	}
}

// shape replaces the values of a decoded JSON document that change from
// run to run (numbers, times, paths under the job's directory) by their
// kind, so that a golden file holds the schema: keys, nesting, kinds.
func shape(v any, dir string) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = shape(e, dir)
			if k == "schema" {
				out[k] = e // the version is part of the schema
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = shape(e, dir)
		}
		return out
	case float64:
		return "<number>"
	case string:
		if _, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return "<time>"
		}
		return strings.ReplaceAll(x, dir, "DIR")
	}
	return v
}

func shapeJSON(t *testing.T, out, dir string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %q: %v", out, err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(shape(v, dir))
	return b.String()
}

// status -json and history -json through the real binaries, after a
// crash: the schema is the golden file's, and the values agree with
// status -l and with each other.
func TestStatusJSONAndHistory(t *testing.T) {
	j := newJob(t)
	prog := j.write("crash-once.sh", `#!/bin/sh
if [ ! -e crashed ]; then touch crashed; sleep 0.2; exit 7; fi
exec sleep 1000
`)
	os.Chmod(prog, 0o755)
	conf := j.write("job.hcl", `runner {
  program     = "`+prog+`"
  socket-name = "zdsock"
  transcript  = "out.log"
}
`)
	j.must(0, "-C", conf, "start")
	eventually(t, 30*time.Second, "the second run", func() bool {
		r := j.run("-C", conf, "history", "-json")
		return strings.Count(r.out, `"pid"`) == 2 && strings.Contains(r.out, `"ended": "running"`)
	})
	j.awaitRunning("-C", conf)
	st := j.statusMap("-C", conf)
	r := j.must(0, "-C", conf, "status", "-json")
	checkGolden(t, "testdata/observe/status.json", shapeJSON(t, r.out, j.dir))
	var info struct {
		Schema   int    `json:"schema"`
		State    string `json:"state"`
		Pid      int    `json:"pid"`
		Starts   int    `json:"starts"`
		Restarts int    `json:"restarts"`
		Manager  struct {
			Pid     int
			Version string
		}
		LastExit struct {
			Ended    string `json:"ended"`
			ExitCode int    `json:"exit_code"`
		} `json:"last_exit"`
		Plugins []struct {
			Kind string
			Pid  int
		}
		Transcript struct{ Path string }
	}
	if err := json.Unmarshal([]byte(r.out), &info); err != nil {
		t.Fatal(err)
	}
	if info.Schema != 2 || info.State != "running" || strconv.Itoa(info.Pid) != st["application"] ||
		strconv.Itoa(info.Manager.Pid) != st["manager"] || info.Starts != 2 || info.Restarts != 1 ||
		info.LastExit.Ended != "exit" || info.LastExit.ExitCode != 7 {
		t.Errorf("status -json %+v; status -l %v", info, st)
	}
	out, err := exec.Command(zdrunPluginsBin, "--version").Output()
	if want := strings.TrimSpace(string(out)); err != nil || want == "" || info.Manager.Version != want {
		t.Errorf("manager version %q, zdrun-plugins --version %q (%v)", info.Manager.Version, want, err)
	}
	if len(info.Plugins) != 1 || info.Plugins[0].Kind != "transcript" || info.Plugins[0].Pid == 0 || info.Transcript.Path != "out.log" {
		t.Errorf("plugins %+v transcript %+v", info.Plugins, info.Transcript)
	}
	h := j.must(0, "-C", conf, "history", "-json")
	checkGolden(t, "testdata/observe/history.json", shapeJSON(t, h.out, j.dir))
	table := j.must(0, "-C", conf, "history")
	lines := strings.Split(strings.TrimSpace(table.out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "STARTED") || !strings.Contains(lines[1], "exit 7") ||
		!strings.Contains(lines[1], "after 1s") || !strings.Contains(lines[2], "running") {
		t.Errorf("history:\n%s", table.out)
	}
	j.must(0, "-C", conf, "stop")
	// With the manager gone: an object that says so, and status's 3.
	down := j.run("-C", conf, "status", "-json")
	if down.code != 3 || !strings.Contains(down.out, `"state": "manager-not-running"`) {
		t.Errorf("status -json without a manager: exit %d %q", down.code, down.out)
	}
	if r := j.run("-C", conf, "history", "0"); r.code != 1 || !strings.Contains(r.err, "history takes a number") {
		t.Errorf("history 0: exit %d %q", r.code, r.err)
	}
}

// Against the original's manager (a migration), status -json and history
// say the manager does not support them, exit 1; plain status still works.
func TestStatusJSONOriginalManager(t *testing.T) {
	peer := originalPeer(t)
	j := newJob(t)
	args := []string{"-p", "sleep 1000", "-s", "zdsock"}
	if r := j.runWith(peer, append(args, "start")...); r.code != 0 {
		t.Fatalf("original start: %d %q %q", r.code, r.out, r.err)
	}
	defer j.runWith(peer, append(args, "stop")...)
	for _, action := range [][]string{{"status", "-json"}, {"history"}, {"history", "-json"}} {
		r := j.run(append(args, action...)...)
		if r.code != 1 || !strings.Contains(r.err, "does not support") || r.out != "" {
			t.Errorf("%v against the original: exit %d, out %q, err %q", action, r.code, r.out, r.err)
		}
	}
	j.must(0, append(args, "status")...)
}

// scrape runs zdaemon metrics and parses its output with the Prometheus
// library's text parser.
func scrape(t *testing.T, j *job, args ...string) map[string]*dto.MetricFamily {
	t.Helper()
	r := j.must(0, append(args, "metrics")...)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(r.out))
	if err != nil {
		t.Fatalf("the Prometheus parser rejects the metrics: %v\n%s", err, r.out)
	}
	return families
}

// metricValue is the value of the sample name{labels} in families.
func metricValue(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	mf, ok := families[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range mf.GetMetric() {
		match := true
		for _, lp := range m.GetLabel() {
			if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no sample %s%v", name, labels)
	return 0
}

// zdaemon metrics after a crash loop shows the starts and the exits by
// reason that history shows; the Prometheus library's own text parser
// reads it, and the HTTP endpoint serves the same; an idle manager with
// the endpoint wakes up for nothing.
func TestMetrics(t *testing.T) {
	j := newJob(t)
	prog := j.write("crash-twice.sh", `#!/bin/sh
n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count
if [ "$n" -lt 2 ]; then sleep 0.2; exit 5; fi
exec sleep 1000
`)
	os.Chmod(prog, 0o755)
	addr := freePort(t)
	conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program     = "%s"
  socket-name = "zdsock"
  transcript  = "out.log"
}
metrics {
  address = "%s"
}
`, prog, addr))
	j.must(0, "-C", conf, "start")
	defer j.run("-C", conf, "stop")
	eventually(t, 30*time.Second, "the third run", func() bool {
		r := j.run("-C", conf, "history", "-json")
		return strings.Count(r.out, `"pid"`) == 3 && strings.Contains(r.out, `"ended": "running"`)
	})
	j.awaitRunning("-C", conf)
	r := j.must(0, "-C", conf, "metrics")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(r.out))
	if err != nil {
		t.Fatalf("the Prometheus parser rejects the metrics: %v\n%s", err, r.out)
	}
	var h struct{ Starts int }
	_ = json.Unmarshal([]byte(j.must(0, "-C", conf, "history", "-json").out), &h)
	if got := metricValue(t, families, "zdaemon_program_starts_total", nil); got != 3 || h.Starts != 3 {
		t.Errorf("starts: metrics %v, history %d", got, h.Starts)
	}
	for reason, want := range map[string]float64{"exit": 2, "signal": 0, "stop": 0} {
		if got := metricValue(t, families, "zdaemon_program_exits_total", map[string]string{"reason": reason}); got != want {
			t.Errorf("exits{reason=%q} = %v, want %v", reason, got, want)
		}
	}
	if got := metricValue(t, families, "zdaemon_program_last_exit_code", nil); got != 5 {
		t.Errorf("last exit code %v", got)
	}
	if got := metricValue(t, families, "zdaemon_program_up", nil); got != 1 {
		t.Errorf("up %v", got)
	}
	if got := metricValue(t, families, "zdaemon_program_state", map[string]string{"state": "running"}); got != 1 {
		t.Errorf("state running %v", got)
	}
	metricValue(t, families, "zdaemon_transcript_sink_restarts_total", nil)
	if got := metricValue(t, families, "zdaemon_control_requests_total", nil); got < 5 {
		t.Errorf("control requests %v: the starts, awaits and history calls above were more", got)
	}
	metricValue(t, families, "process_resident_memory_bytes", nil)

	// The same over HTTP.
	viaHTTP := scrapeHTTP(t, addr)
	if got := metricValue(t, viaHTTP, "zdaemon_program_starts_total", nil); got != 3 {
		t.Errorf("starts over HTTP %v", got)
	}

	// Idle with the endpoint open: once the requests above have settled
	// (the runtime's scavenger may still return what the scrape
	// allocated), no context switch in 3 s.
	http.DefaultClient.CloseIdleConnections()
	mgr, _ := strconv.Atoi(j.statusMap("-C", conf)["manager"])
	settled := false
	for deadline := time.Now().Add(30 * time.Second); !settled && time.Now().Before(deadline); {
		before := contextSwitches(t, mgr)
		time.Sleep(time.Second) // a window of idleness, not a wait for something
		settled = contextSwitches(t, mgr) == before
	}
	before := contextSwitches(t, mgr)
	time.Sleep(3 * time.Second)
	if after := contextSwitches(t, mgr); !settled || after != before {
		t.Errorf("the idle manager switched %d times in 3 s (settled: %v)", after-before, settled)
	}
	// An address in use is a start-up error.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	conf2 := j.write("busy.hcl", fmt.Sprintf("runner {\n  program = \"sleep 100\"\n  socket-name = \"zdsock2\"\n}\nmetrics {\n  address = %q\n}\n", busy.Addr().String()))
	if r := j.run("-C", conf2, "start"); r.code != 1 || !strings.Contains(r.err, "address already in use") {
		t.Errorf("start with a busy metrics address: exit %d %q %q", r.code, r.out, r.err)
	}
}

// The zero-downtime example runs as its README says: the server takes the
// held socket (it refuses to run without a right LISTEN_PID), answers
// through a restart on the same socket, its liveness check and watchdog
// are on, and stop closes the socket.
func TestZeroDowntimeExample(t *testing.T) {
	j := newJob(t)
	server := j.buildExample("zero-downtime")
	src, err := os.ReadFile("../../examples/zero-downtime/job.hcl")
	if err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	job := strings.NewReplacer(
		`"examples/zero-downtime/server"`, strconv.Quote(server),
		"/tmp/zdaemon-zero-downtime.zdsock", j.path("zdsock"),
		"/tmp/zdaemon-zero-downtime.log", j.path("events.log"),
		"127.0.0.1:8089", addr,
	).Replace(string(src))
	conf := j.write("job.hcl", job)
	j.must(0, "validate", conf)
	j.must(0, "-C", conf, "start")
	get := func() string {
		t.Helper()
		c := http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			t.Fatalf("GET /: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	first := get()
	pid := j.statusMap("-C", conf)["application"]
	if first != "hello from pid "+pid+"\n" {
		t.Fatalf("GET / = %q, program pid %s", first, pid)
	}
	show := j.must(0, "-C", conf, "show").out
	for _, want := range []string{addr, "watchdog", "liveness"} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	var info struct {
		Listen []struct {
			Name, Address string
			FD            int
		}
		Checks []struct {
			Kind     string
			Liveness *struct {
				Failures int
			}
		}
		Watchdog *struct {
			PeriodSeconds float64 `json:"period_seconds"`
		}
	}
	if err := json.Unmarshal([]byte(j.must(0, "-C", conf, "status", "-json").out), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Listen) != 1 || info.Listen[0].Name != "web" || info.Listen[0].Address != addr || info.Listen[0].FD != 3 ||
		len(info.Checks) != 1 || info.Checks[0].Kind != "http" || info.Checks[0].Liveness == nil || info.Checks[0].Liveness.Failures != 3 ||
		info.Watchdog == nil || info.Watchdog.PeriodSeconds != 5 {
		t.Errorf("status -json: %+v", info)
	}
	j.must(0, "-C", conf, "restart")
	second := get()
	if second == first || !strings.HasPrefix(second, "hello from pid ") {
		t.Errorf("after restart GET / = %q (before %q)", second, first)
	}
	// An upgrade (to the same executables) under the server: it goes on
	// answering, and the new manager keeps its liveness check and its
	// watchdog going (a try and a ping after the upgrade, no restart).
	upgradedAt := time.Now()
	if r := j.must(0, "-C", conf, "upgrade"); !strings.HasPrefix(r.out, "daemon manager upgraded to zdrun ") {
		t.Fatalf("upgrade: %q", r.out)
	}
	var health struct {
		Pid    int `json:"pid"`
		Checks []struct {
			Liveness *struct {
				LastTry time.Time `json:"last_try"`
				LastOK  bool      `json:"last_ok"`
			}
		}
		Watchdog *struct {
			LastPing time.Time `json:"last_ping"`
		}
	}
	eventually(t, 30*time.Second, "a liveness try and a watchdog ping after the upgrade", func() bool {
		if err := json.Unmarshal([]byte(j.must(0, "-C", conf, "status", "-json").out), &health); err != nil {
			t.Fatal(err)
		}
		return len(health.Checks) == 1 && health.Checks[0].Liveness != nil && health.Checks[0].Liveness.LastTry.After(upgradedAt) &&
			health.Checks[0].Liveness.LastOK && health.Watchdog != nil && health.Watchdog.LastPing.After(upgradedAt)
	})
	if third := get(); third != second || "hello from pid "+strconv.Itoa(health.Pid)+"\n" != second {
		t.Errorf("after the upgrade GET / = %q, pid %d (before %q)", third, health.Pid, second)
	}
	j.must(0, "-C", conf, "stop")
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("the socket still accepts after stop")
	}
}

// scrapeHTTP reads the metrics endpoint at addr with the Prometheus text
// parser.
func scrapeHTTP(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v\n%s", resp.StatusCode, err, body)
	}
	return families
}
