package main

import (
	"path/filepath"
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
	r := j.must(0, append(o, "validate", conf)...)
	_ = r
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
