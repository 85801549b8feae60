package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The seed README's transcript section, verbatim: tail -f into the
// transcript, rotate by renaming, reopen_transcript.
func TestReadmeTranscriptRotation(t *testing.T) {
	j := newJob(t)
	data, err := os.OpenFile(j.path("data"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	data.WriteString("rec 1\n")
	j.write("conf", "<runner>\n  program tail -f data\n  transcript log\n</runner>\n")
	j.startOK("-Cconf")
	waitFile(t, j.path("log"), "rec 1\n")
	if err := os.Rename(j.path("log"), j.path("log.1")); err != nil {
		t.Fatal(err)
	}
	data.WriteString("rec 2\n")
	waitFile(t, j.path("log.1"), "rec 1\nrec 2\n")
	r := j.must(0, "-Cconf", "reopen_transcript")
	if r.out != "" {
		t.Fatalf("reopen_transcript printed %q", r.out)
	}
	data.WriteString("rec 3\n")
	waitFile(t, j.path("log"), "rec 3\n")
	if got, _ := os.ReadFile(j.path("log.1")); string(got) != "rec 1\nrec 2\n" {
		t.Fatalf("log.1 = %q", got)
	}
	r = j.must(0, "-Cconf", "show")
	if !regexp.MustCompile(`\nplugins:\n    transcript file pid=\d+ restarts=0\n`).MatchString(r.out) {
		t.Fatalf("show does not list the sink: %q", r.out)
	}
	j.stopOK("-Cconf")
}

// waitFile polls a file written by another process until it holds want.
func waitFile(t *testing.T, path, want string) {
	t.Helper()
	eventually(t, 5*time.Second, path+" to hold "+strconv.Quote(want), func() bool {
		got, _ := os.ReadFile(path)
		return string(got) == want
	})
}

func TestTranscriptStdoutStderrAndManager(t *testing.T) {
	j := newJob(t)
	conf := j.write("job.hcl", `runner {
  program = ["sh", "-c", "echo out; echo err >&2; exit 3"]
  backoff-limit = 1
  start-grace   = "30s" # never up, however slowly the machine runs sh
}
transcript "file" {
  path = "out.log"
}
`)
	j.must(1, "-C", conf, "start") // exits at once: never started
	eventually(t, 5*time.Second, "the manager to exit", func() bool { return len(j.leftovers()) == 0 })
	got, _ := os.ReadFile(j.path("out.log"))
	// The program's two streams, then the manager's last words (there is
	// no event log, so its warnings go to stderr, which is the transcript).
	if !strings.HasPrefix(string(got), "out\nerr\n") || !strings.Contains(string(got), "restarting too frequently; quit\n") {
		t.Fatalf("transcript %q", got)
	}
}

// counterJob writes lines "0\n" .. "n-1\n" as fast as it can, then sleeps.
func counterJob(j *job, n int, extra string) string {
	script := j.write("count.sh", fmt.Sprintf("i=0\nwhile [ $i -lt %d ]; do echo $i; i=$((i+1)); done\nexec sleep 1000\n", n))
	return j.write("job.hcl", fmt.Sprintf(`runner {
  program = ["sh", %q]
}
transcript "file" {
  path = "out.log"
  %s
}
# The manager's own messages go to the event log, not the transcript.
eventlog {
  logfile {
    path = "event.log"
  }
}
`, script, extra))
}

// A sink killed with SIGKILL mid-stream is restarted on the same pipe: the
// stream goes on, and what is lost is at most one read (256 KiB,
// logfile.ChunkSize).
func TestSinkKilledMidStream(t *testing.T) {
	j := newJob(t)
	const n = 200000
	conf := counterJob(j, n, "")
	j.startOK("-C", conf)
	sink := pluginPid(t, j, conf)
	eventually(t, 10*time.Second, "some output", func() bool {
		st, _ := os.Stat(j.path("out.log"))
		return st != nil && st.Size() > 10000
	})
	if err := syscall.Kill(sink, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	last := fmt.Sprintf("%d\n", n-1)
	eventually(t, 30*time.Second, "the last line", func() bool {
		got, _ := os.ReadFile(j.path("out.log"))
		return bytes.HasSuffix(got, []byte(last))
	})
	got, _ := os.ReadFile(j.path("out.log"))
	lost := missingBytes(t, got, n)
	if lost > 256*1024 {
		t.Fatalf("lost %d bytes, more than one read", lost)
	}
	if newPid := pluginPid(t, j, conf); newPid == sink {
		t.Fatal("sink not restarted")
	}
	events, _ := os.ReadFile(j.path("event.log"))
	if !strings.Contains(string(events), fmt.Sprintf("transcript sink file (pid %d) died; restarting it on the same pipe", sink)) {
		t.Fatalf("event log does not say the sink died: %q", events)
	}
	j.stopOK("-C", conf)
}

// missingBytes checks the lines are the counter in order, allowing one gap
// (at most one torn line at each end of it), and returns the bytes missing.
func missingBytes(t *testing.T, got []byte, n int) int {
	t.Helper()
	var want bytes.Buffer
	for i := range n {
		fmt.Fprintf(&want, "%d\n", i)
	}
	w := want.Bytes()
	// Longest common prefix and suffix: everything else is the gap.
	p := 0
	for p < len(got) && p < len(w) && got[p] == w[p] {
		p++
	}
	s := 0
	for s < len(got)-p && s < len(w)-p && got[len(got)-1-s] == w[len(w)-1-s] {
		s++
	}
	if p+s != len(got) {
		t.Fatalf("transcript is not the counter with one gap: %d bytes kept of %d, prefix %d, suffix %d", len(got), len(w), p, s)
	}
	return len(w) - len(got)
}

func pluginPid(t *testing.T, j *job, conf string) int {
	t.Helper()
	var pid int
	eventually(t, 10*time.Second, "a running sink", func() bool {
		r := j.run("-C", conf, "show")
		m := regexp.MustCompile(`transcript file pid=(\d+)`).FindStringSubmatch(r.out)
		if m == nil {
			return false
		}
		pid, _ = strconv.Atoi(m[1])
		return true
	})
	return pid
}

// 100 rotations while the program writes without pause: every byte ends up
// in exactly one file, in order.
func TestHundredReopensLoseNothing(t *testing.T) {
	j := newJob(t)
	const n = 300000
	conf := counterJob(j, n, "")
	j.startOK("-C", conf)
	for i := 1; i <= 100; i++ {
		if err := os.Rename(j.path("out.log"), j.path(fmt.Sprintf("out.log.%03d", i))); err != nil {
			t.Fatal(err)
		}
		j.must(0, "-C", conf, "reopen_transcript")
	}
	last := fmt.Sprintf("%d\n", n-1)
	concat := func() []byte {
		var all []byte
		files, _ := filepath.Glob(j.path("out.log.*"))
		for _, f := range append(files, j.path("out.log")) {
			data, _ := os.ReadFile(f)
			all = append(all, data...)
		}
		return all
	}
	eventually(t, 60*time.Second, "the last line", func() bool { return bytes.HasSuffix(concat(), []byte(last)) })
	all := concat()
	if lost := missingBytes(t, all, n); lost != 0 {
		t.Fatalf("lost %d bytes across 100 reopens", lost)
	}
	j.stopOK("-C", conf)
}

func TestTranscriptConfigErrors(t *testing.T) {
	j := newJob(t)
	conf := j.write("bad.hcl", `runner {
  program = "sleep 1"
}
transcript "file" {
  path     = "out.log"
  max-size = -5
  colour   = "blue"
}
`)
	r := j.must(2, "validate", conf)
	for _, want := range []string{
		"Error: Unsupported argument\n\n  on " + conf + ":7:3, in transcript \"file\":",
	} {
		if !strings.Contains(r.err, want) {
			t.Fatalf("stderr %q lacks %q", r.err, want)
		}
	}
	conf = j.write("bad2.hcl", `runner {
  program = "sleep 1"
}
transcript "file" {
  path     = "out.log"
  max-size = -5
}
`)
	r = j.must(2, "validate", conf)
	if !strings.Contains(r.err, "Error: Invalid max-size\n\n  on "+conf+":6:14, in transcript \"file\":") || !strings.Contains(r.err, "whole number of bytes") {
		t.Fatalf("stderr %q", r.err)
	}
	conf = j.write("bad3.hcl", "runner {\n  program = \"sleep 1\"\n}\ntranscript \"kafka\" {\n}\n")
	r = j.must(2, "validate", conf)
	if !strings.Contains(r.err, `Error: Unknown transcript sink "kafka"`) || !strings.Contains(r.err, conf+":4:1") {
		t.Fatalf("stderr %q", r.err)
	}
	conf = j.write("bad4.hcl", "runner {\n  program = \"sleep 1\"\n  transcript = \"a.log\"\n}\ntranscript \"file\" {\n  path = \"b.log\"\n}\n")
	r = j.must(2, "-C", conf, "start")
	if !strings.Contains(r.err, "Error: Two transcripts") {
		t.Fatalf("stderr %q", r.err)
	}
}

// A third-party sink from examples/, built and loaded by path.
func TestExternalSinkPlugin(t *testing.T) {
	j := newJob(t)
	bin := j.buildExample("transcript-syslog")
	sock := j.path("syslog.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program = ["sh", "-c", "echo first; echo second; exec sleep 1000"]
}
transcript "syslog" {
  plugin   = "transcript-syslog"
  address  = %q
  tag      = "zdtest"
  facility = "local0"
}
`, sock))
	j.startOK("-C", conf)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var got []string
	buf := make([]byte, 4096)
	for len(got) < 2 {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, string(buf[:n]))
	}
	if got[0] != "<134>zdtest: first" || got[1] != "<134>zdtest: second" {
		t.Fatalf("syslog got %q", got)
	}
	if r := j.must(0, "-C", conf, "show"); !strings.Contains(r.out, "transcript syslog ("+bin+") pid=") {
		t.Fatalf("show: %q", r.out)
	}
	j.stopOK("-C", conf)
	// The plugin's own validation, at the attribute.
	bad := j.write("bad.hcl", "runner {\n  program = \"sleep 1\"\n}\ntranscript \"syslog\" {\n  plugin   = \"transcript-syslog\"\n  facility = \"local9\"\n}\n")
	r := j.must(2, "validate", bad)
	if !strings.Contains(r.err, "Error: Invalid facility\n\n  on "+bad+":6:14") {
		t.Fatalf("stderr %q", r.err)
	}
}

// The program's output goes from the pipe to the sink without waking the
// manager, which neither reads nor writes it: while the program writes
// 64 MiB, the manager's threads are switched in and out a few times (its
// idle timers), not once per chunk as when the pipe sat in its poller.
func TestTranscriptLeavesManagerIdle(t *testing.T) {
	j := newJob(t)
	const size = 64 << 20
	script := j.write("out.sh", fmt.Sprintf("while [ ! -e go ]; do sleep 0.01; done\nhead -c %d /dev/zero\nexec sleep 1000\n", size))
	conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program = ["sh", %q]
}
transcript "file" {
  path = "out.log"
}
eventlog {
  logfile {
    path = "event.log"
  }
}
`, script))
	j.startOK("-C", conf)
	manager, _ := strconv.Atoi(j.statusMap("-C", conf)["manager"])
	before := contextSwitches(t, manager)
	j.write("go", "")
	eventually(t, 60*time.Second, "the program's 64 MiB in the transcript", func() bool {
		st, _ := os.Stat(j.path("out.log"))
		return st != nil && st.Size() >= size
	})
	woken := contextSwitches(t, manager) - before
	j.stopOK("-C", conf)
	// With the pipe in its poller: about 2,000 here (one per chunk each
	// way); without: about 5.
	if woken > 100 {
		t.Fatalf("the manager was switched in %d times while the program wrote 64 MiB", woken)
	}
}

// contextSwitches sums the voluntary and involuntary context switches of
// every thread of pid.
func contextSwitches(t *testing.T, pid int) int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of the manager (pid %d): %v", pid, err)
	}
	n := 0
	for _, path := range tasks {
		data, _ := os.ReadFile(path)
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				c, _ := strconv.Atoi(strings.TrimSpace(v))
				n += c
			}
		}
	}
	return n
}

// transcriptFigures is status -json's transcript and the transcript
// sink's entry among its plugins.
type transcriptFigures struct {
	Transcript struct {
		Path         string  `json:"path"`
		BytesWritten *uint64 `json:"bytes_written"`
		Destination  string  `json:"destination"`
		Error        string  `json:"error"`
	} `json:"transcript"`
	Plugins []struct {
		Kind     string `json:"kind"`
		Pid      int    `json:"pid"`
		Restarts int    `json:"restarts"`
	} `json:"plugins"`
	took time.Duration
}

func transcriptStatus(t *testing.T, j *job, args ...string) transcriptFigures {
	t.Helper()
	r := j.must(0, append(args, "status", "-json")...)
	var f transcriptFigures
	if err := json.Unmarshal([]byte(r.out), &f); err != nil || len(f.Plugins) != 1 || f.Plugins[0].Kind != "transcript" {
		t.Fatalf("status -json: %v\n%s", err, r.out)
	}
	f.took = r.took
	return f
}

// transcriptBytes is zdaemon_transcript_bytes_total; -1 when absent.
func transcriptBytes(t *testing.T, j *job, args ...string) float64 {
	t.Helper()
	families := scrape(t, j, args...)
	if _, ok := families["zdaemon_transcript_bytes_total"]; !ok {
		return -1
	}
	return metricValue(t, families, "zdaemon_transcript_bytes_total", nil)
}

// The bytes the sink wrote, in status -json and the metrics: exactly what
// the program wrote (the manager's messages go to the event log); after
// the sink is killed and started again the count goes on from there,
// never down.
func TestTranscriptBytesCounted(t *testing.T) {
	j := newJob(t)
	// 10000 bytes at start, 5000 more at each SIGUSR1.
	script := j.write("write.sh", `trap 'head -c 5000 /dev/zero | tr "\0" b' USR1
head -c 10000 /dev/zero | tr "\0" a
while :; do sleep 1000 & s=$!; wait $s; kill $s 2>/dev/null; done
`)
	conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program = ["sh", %q]
}
transcript "file" {
  path = "out.log"
}
eventlog {
  logfile {
    path = "event.log"
  }
}
`, script))
	j.startOK("-C", conf)
	defer j.run("-C", conf, "stop")
	// seen is the most status -json and the metrics showed so far: the
	// count must never go below it.
	var seen uint64
	counts := func(want uint64) func() bool {
		return func() bool {
			f := transcriptStatus(t, j, "-C", conf)
			n := f.Transcript.BytesWritten
			if n == nil {
				return false // restarting: unknown, and Error says why
			}
			if *n < seen {
				t.Fatalf("bytes written went down: %d after %d", *n, seen)
			}
			seen = *n
			m := transcriptBytes(t, j, "-C", conf)
			if m >= 0 && uint64(m) < seen {
				t.Fatalf("zdaemon_transcript_bytes_total went down: %v after %d", m, seen)
			}
			return *n == want && m == float64(want)
		}
	}
	eventually(t, 30*time.Second, "10000 bytes counted", counts(10000))
	f := transcriptStatus(t, j, "-C", conf)
	if f.Transcript.Destination != j.path("out.log") || f.Transcript.Error != "" || f.Transcript.Path != "out.log" {
		t.Errorf("transcript %+v", f.Transcript)
	}
	if st, err := os.Stat(j.path("out.log")); err != nil || st.Size() != 10000 {
		t.Fatalf("out.log: %v %v", st, err)
	}
	// The sink dies; the host starts another, which counts from 0.
	sink := f.Plugins[0].Pid
	if err := syscall.Kill(sink, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "a new sink", func() bool {
		f := transcriptStatus(t, j, "-C", conf)
		return f.Plugins[0].Pid != sink && f.Plugins[0].Pid != 0 && f.Plugins[0].Restarts == 1
	})
	eventually(t, 30*time.Second, "10000 bytes counted after the restart", counts(10000))
	j.must(0, "-C", conf, "kill", "10")
	eventually(t, 30*time.Second, "15000 bytes counted", counts(15000))
	if st, err := os.Stat(j.path("out.log")); err != nil || st.Size() != 15000 {
		t.Fatalf("out.log: %v %v", st, err)
	}
	j.stopOK("-C", conf)
}

// A sink that never answers Status costs status -json and the metrics at
// most the manager's deadline for it (SinkStatusTimeout, 500 ms): the
// bytes are unknown (absent) and the error says why.
func TestTranscriptStatusHangingSink(t *testing.T) {
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
    path = "event.log"
  }
}
`, badPluginScript(j, "status-hang")))
	j.startOK("-C", conf)
	waitFile(t, j.path("out.log"), "hello\n")
	for i := range 3 {
		f := transcriptStatus(t, j, "-C", conf)
		t.Logf("status -json %d took %v", i, f.took)
		if f.took > 3*time.Second {
			t.Errorf("status -json took %v with a sink that hangs", f.took)
		}
		if f.Transcript.BytesWritten != nil || !strings.Contains(f.Transcript.Error, "did not report within 500ms") {
			t.Errorf("transcript %+v", f.Transcript)
		}
	}
	begin := time.Now()
	if n := transcriptBytes(t, j, "-C", conf); n != -1 {
		t.Errorf("zdaemon_transcript_bytes_total %v from a sink that does not answer", n)
	}
	t.Logf("metrics took %v", time.Since(begin))
	if took := time.Since(begin); took > 3*time.Second {
		t.Errorf("metrics took %v with a sink that hangs", took)
	}
	j.stopOK("-C", conf)
}
