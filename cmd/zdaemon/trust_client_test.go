package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Ten starts at once on one socket: every start gets a manager's word,
// whichever manager won the race for the socket. The original's clients
// print "daemon process started, pid=N" (after its dots) or "daemon
// process already running; pid=N", exit 0, with N the one program; so do
// ours, and a start whose manager lost the race leaves nothing behind.
func TestTrustClientConcurrentStarts(t *testing.T) {
	const clients, rounds = 10, 3
	j := newJob(t)
	conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program = "sleep 3600"
}
eventlog {
  logfile {
    path = %q
  }
}
`, j.path("event.log")))
	lostRe := regexp.MustCompile(`(?m) INFO root another manager already serves the control socket .*; leaving the job to it$`)
	lost := 0
	for round := range rounds {
		outs := startTogether(t, j, clients, "-C", conf, "start")
		st := j.statusMap("-C", conf)
		pid, _ := strconv.Atoi(st["application"])
		manager, _ := strconv.Atoi(st["manager"])
		if pid == 0 || manager == 0 {
			t.Fatalf("round %d: status after the starts: %v", round, st)
		}
		started := 0
		for i, r := range outs {
			m := startedRe.FindStringSubmatch(r.out)
			switch {
			case r.code != 0 || r.err != "":
				t.Errorf("round %d, client %d: exit %d\nstdout: %q\nstderr: %q", round, i, r.code, r.out, r.err)
			case m != nil && m[2] == strconv.Itoa(pid):
				started++
			case r.out == fmt.Sprintf("daemon process already running; pid=%d\n", pid):
			default:
				t.Errorf("round %d, client %d: output %q is none of the original's lines for pid %d", round, i, r.out, pid)
			}
		}
		if started == 0 {
			t.Errorf("round %d: no client said it started the program", round)
		}
		// Exactly one manager and one program: the losers are gone.
		if left := j.leftovers(); !sameSet(left, []int{manager, pid}) {
			t.Fatalf("round %d: processes %v, want only the manager %d and the program %d", round, left, manager, pid)
		}
		if names, _ := filepath.Glob(j.path("zdsock.*")); len(names) != 0 {
			t.Fatalf("round %d: temporary sockets left: %v", round, names)
		}
		j.stopOK("-C", conf)
		eventually(t, 10*time.Second, "the manager and the program to exit", func() bool { return len(j.leftovers()) == 0 })
		data, _ := os.ReadFile(j.path("event.log"))
		lost = len(lostRe.FindAll(data, -1))
		if strings.Contains(string(data), "Another zrdun") {
			t.Fatalf("round %d: a loser logged the raw status dump:\n%s", round, data)
		}
		// Only the winners daemonized: a loser logs one line and goes.
		if n := strings.Count(string(data), " INFO root daemonizing the process\n"); n != round+1 {
			t.Fatalf("round %d: %d managers daemonized, want %d:\n%s", round, n, round+1, data)
		}
	}
	// Each lost race left one line in the event log: the race happened.
	if lost == 0 {
		t.Fatalf("no start lost the race in %d rounds of %d: the test did not exercise it", rounds, clients)
	}
	t.Logf("%d of %d starts lost the race for the socket", lost, rounds*clients)
}

// startTogether runs n zdaemon processes with the same arguments, released
// at one moment: each waits, already started, for a line on its stdin.
func startTogether(t *testing.T, j *job, n int, args ...string) []result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type proc struct {
		cmd      *exec.Cmd
		gate     io.WriteCloser
		out, err strings.Builder
		start    time.Time
	}
	procs := make([]*proc, n)
	for i := range procs {
		p := &proc{}
		p.cmd = exec.CommandContext(ctx, "sh", append([]string{"-c", `read -r _ && exec "$0" "$@"`, zdaemonBin}, args...)...)
		p.cmd.Dir = j.dir
		p.cmd.Env = append(append(os.Environ(), "ZD_TEST_JOB="+j.dir), j.env...)
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.err
		gate, err := p.cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		p.gate = gate
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[i] = p
	}
	for _, p := range procs {
		p.start = time.Now()
		_, _ = io.WriteString(p.gate, "go\n")
	}
	for _, p := range procs {
		p.gate.Close()
	}
	res := make([]result, n)
	for i, p := range procs {
		err := p.cmd.Wait()
		res[i] = result{out: p.out.String(), err: p.err.String(), took: time.Since(p.start)}
		if ee, ok := err.(*exec.ExitError); ok {
			res[i].code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	return res
}

func sameSet(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[int]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		if seen[x] == 0 {
			return false
		}
		seen[x]--
	}
	return true
}
