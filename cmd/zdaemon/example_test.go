package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README's quickstart: the example job starts, reports its status with
// the example's settings, and stops.
func TestQuickstartExample(t *testing.T) {
	j := newJob(t)
	conf, err := filepath.Abs("../../examples/basic/app.hcl")
	if err != nil {
		t.Fatal(err)
	}
	j.must(0, "validate", conf)
	o := []string{"-C", exampleInJob(j, conf, "/tmp/zdaemon-quickstart.log", j.path("event.log")), "-s", j.path("zdsock")}
	pid := j.startOK(o...)
	kv := j.statusMap(o...)
	if kv["args"] != "['sh', '-c', 'while :; do date; sleep 5; done']" || kv["backofflimit"] != "5" {
		t.Fatalf("status: %v", kv)
	}
	if !alive(pid) {
		t.Fatal("program not alive")
	}
	j.stopOK(o...)
	if events, err := os.ReadFile(j.path("event.log")); err != nil || !strings.Contains(string(events), "daemonizing the process") {
		t.Fatalf("the event log in the job's directory: %v\n%s", err, events)
	}
}

// examples/legacy: the .conf runs unchanged, and the .hcl beside it is
// exactly what convert makes of it, with the same effective settings.
func TestLegacyExample(t *testing.T) {
	j := newJob(t)
	conf, _ := filepath.Abs("../../examples/legacy/zdaemon.conf")
	hclPath, _ := filepath.Abs("../../examples/legacy/zdaemon.hcl")
	want, err := os.ReadFile(hclPath)
	if err != nil {
		t.Fatal(err)
	}
	r := j.must(0, "convert", conf)
	got := strings.Replace(r.out, conf, "examples/legacy/zdaemon.conf", 1)
	if got != string(want) {
		t.Fatalf("examples/legacy/zdaemon.hcl is stale; regenerate it with\n  zdaemon convert examples/legacy/zdaemon.conf > examples/legacy/zdaemon.hcl\ngot:\n%s", got)
	}
	o := []string{"-s", j.path("zdsock")}
	a := j.must(0, append([]string{"-C", conf}, append(o, "show")...)...)
	b := j.must(0, append([]string{"-C", hclPath}, append(o, "show")...)...)
	strip := func(s string) string { return strings.SplitN(s, "\n", 4)[3] } // drop the configfile line
	if strip(a.out) != strip(b.out) {
		t.Fatalf("show differs:\n%s\n%s", a.out, b.out)
	}
	run := []string{"-C", exampleInJob(j, conf, "%define RUN /tmp/zdaemon-legacy", "%define RUN "+j.path("legacy")), "-s", j.path("zdsock")}
	pid := j.startOK(run...)
	if !alive(pid) {
		t.Fatal("not running")
	}
	j.stopOK(run...)
	if events, err := os.ReadFile(j.path("legacy.log")); err != nil || !strings.Contains(string(events), "daemonizing the process") {
		t.Fatalf("the event log in the job's directory: %v\n%s", err, events)
	}
}

// exampleInJob copies the example job file at path into the job's
// directory, with the one place that names its files in /tmp (from)
// changed to name them in the job's directory (to): a test writes nothing
// in /tmp, where the quickstart's own event log may be another user's. It
// returns the copy's path.
func exampleInJob(j *job, path, from, to string) string {
	j.t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		j.t.Fatal(err)
	}
	if n := strings.Count(string(src), from); n != 1 {
		j.t.Fatalf("%s holds %q %d times, want once", path, from, n)
	}
	return j.write(filepath.Base(path), strings.Replace(string(src), from, to, 1))
}
