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
	o := []string{"-C", conf, "-s", j.path("zdsock")}
	j.must(0, append(o, "validate", conf)...)
	pid := j.startOK(o...)
	kv := j.statusMap(o...)
	if kv["args"] != "['sh', '-c', 'while :; do date; sleep 5; done']" || kv["backofflimit"] != "5" {
		t.Fatalf("status: %v", kv)
	}
	if !alive(pid) {
		t.Fatal("program not alive")
	}
	j.stopOK(o...)
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
	pid := j.startOK(append([]string{"-C", conf}, o...)...)
	if !alive(pid) {
		t.Fatal("not running")
	}
	j.stopOK(append([]string{"-C", conf}, o...)...)
}
