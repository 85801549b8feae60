package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
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
	data, err := os.ReadFile(j.path("events.log"))
	if err != nil {
		t.Fatal(err)
	}
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
