package main

// Plugins that cannot be trusted to behave, and a manager that dies
// without closing down: nothing hangs, nothing is left behind, no output
// is lost.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// runWithin runs zdaemon in the job's directory and fails the test if it
// takes longer than d (it is killed then).
func runWithin(j *job, d time.Duration, args ...string) result {
	j.t.Helper()
	return j.runCmdWithin(d, nil, zdaemonBin, args...)
}

// garbagePlugin writes a wrapper-script plugin that prints garbage
// instead of go-plugin's handshake while a child of it (the grandchild of
// whoever started the script) keeps its stdout open, and appends that
// child's pid to grandchildren. With goodFirst, the first run of the script
// is the real built-in plugin builtin ("transcript file"), so the client
// can decode the block and only the manager meets the garbage.
func garbagePlugin(j *job, builtin string, goodFirst bool) string {
	var good string
	if goodFirst {
		done := j.path("described")
		good = fmt.Sprintf("if [ ! -e %s ]; then : > %s; exec %s plugin %s; fi\n", done, done, zdrunBin, builtin)
	}
	path := j.write("wrapper.sh", fmt.Sprintf("#!/bin/sh\n%ssleep 1000 &\necho $! >> %s\necho garbage\nwait\n", good, j.path("grandchildren")))
	os.Chmod(path, 0o755)
	return path
}

// A plugin that fails the handshake, whose child holds its stdout: for
// validate and start, in the client (decoding the block) and in the
// manager (starting the sink or check), the command fails at once with
// the reason at the block's plugin attribute, and no process of the
// plugin is left.
func TestTrustPluginsGarbageHandshake(t *testing.T) {
	tests := []struct {
		name      string
		block     string // transcript or healthcheck block, %q is the plugin
		builtin   string // the real plugin the script runs first with goodFirst
		goodFirst bool
		action    string
		code      int
	}{
		{"validate-sink", sinkBlock, "transcript file", false, "validate", 2},
		{"validate-check", checkBlock, "healthcheck program", false, "validate", 2},
		{"start-sink-client", sinkBlock, "transcript file", false, "start", 2},
		{"start-check-client", checkBlock, "healthcheck program", false, "start", 2},
		{"start-sink-manager", sinkBlock, "transcript file", true, "start", 1},
		{"start-check-manager", checkBlock, "healthcheck program", true, "start", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJob(t)
			plugin := garbagePlugin(j, tt.builtin, tt.goodFirst)
			conf := j.write("job.hcl", "runner {\n  program = \"sleep 1000\"\n}\n"+fmt.Sprintf(tt.block, plugin))
			args := []string{"validate", conf}
			if tt.action == "start" {
				args = []string{"-C", conf, "start"}
			}
			r := runWithin(j, 20*time.Second, args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %q\nstderr: %q", r.code, tt.code, r.out, r.err)
			}
			want := fmt.Sprintf("plugin %s did not start: it printed \"garbage\" instead of the go-plugin handshake", plugin)
			// Diagnostics are wrapped to the terminal's width.
			if got := strings.Join(strings.Fields(r.out+r.err), " "); !strings.Contains(got, want) {
				t.Fatalf("output lacks %q\nstdout: %q\nstderr: %q", want, r.out, r.err)
			}
			if tt.action == "validate" || !tt.goodFirst {
				if !strings.Contains(r.err, "on "+conf+":") || !pluginAttrRe.MatchString(r.err) {
					t.Fatalf("error not at the plugin attribute: %q", r.err)
				}
			}
			data, _ := os.ReadFile(j.path("grandchildren"))
			pids := strings.Fields(string(data))
			if len(pids) == 0 {
				t.Fatal("the wrapper started no child")
			}
			for _, f := range pids {
				pid, _ := strconv.Atoi(f)
				eventually(t, 5*time.Second, fmt.Sprintf("the plugin's child %d to die", pid), func() bool { return !alive(pid) })
			}
		})
	}
}

// pluginAttrRe is the source line of a diagnostic at a plugin attribute.
var pluginAttrRe = regexp.MustCompile(`\n +\d+: +plugin += `)

const sinkBlock = `transcript "wrapped" {
  plugin = %q
  path   = "out.log"
}
`

const checkBlock = `healthcheck "wrapped" {
  plugin  = %q
  command = "true"
}
`

var (
	counterOnce sync.Once
	counterProg string
)

// buildCounter builds testdata/counter beside the zdaemon binary.
func buildCounter(t *testing.T) string {
	t.Helper()
	counterOnce.Do(func() {
		bin := filepath.Join(filepath.Dir(zdaemonBin), "counter")
		build := exec.Command("go", "build", "-o", bin, "./testdata/counter")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build testdata/counter: %v\n%s", err, out)
		}
		counterProg = bin
	})
	if counterProg == "" {
		t.Fatal("no counter program")
	}
	return counterProg
}

// written is how many bytes the counter program has written so far.
func written(j *job) uint64 {
	data, err := os.ReadFile(j.path("progress"))
	if err != nil || len(data) < 8 {
		return 0
	}
	return binary.NativeEndian.Uint64(data)
}

// counterPrefix checks that got is the counter stream "0\n1\n..." from its
// start, in order, without a gap (the last line may be cut short), and
// returns how many bytes of it got holds.
func counterPrefix(t *testing.T, got []byte) int {
	t.Helper()
	rest := got
	for i := 0; len(rest) > 0; i++ {
		want := strconv.Itoa(i) + "\n"
		line, after, complete := bytes.Cut(rest, []byte("\n"))
		if !complete {
			if !strings.HasPrefix(want, string(line)) {
				t.Fatalf("transcript ends in %q where line %d (%q) belongs", line, i, want)
			}
			break
		}
		if string(line)+"\n" != want {
			t.Fatalf("line %d of the transcript is %q, want %q (byte %d)", i, line, want, len(got)-len(rest))
		}
		rest = after
	}
	return len(got)
}

// A manager killed with SIGKILL while its program writes without pause:
// the program dies with it, the sink writes everything the program wrote
// up to the end of the pipe and exits by itself. 20 runs.
func TestTrustPluginsManagerKilledLosesNoOutput(t *testing.T) {
	counter := buildCounter(t)
	var lost, lossy int
	for i := range 20 {
		j := newJob(t)
		conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program = [%q, %q]
}
transcript "file" {
  path = "out.log"
}
eventlog {
  logfile {
    path = "event.log"
  }
}
`, counter, j.path("progress")))
		prog := j.startOK("-C", conf)
		mgr, _ := strconv.Atoi(j.statusMap("-C", conf)["manager"])
		sink := pluginPid(t, j, conf)
		// Kill at a different moment each run: after 256 KiB to 1 MiB.
		at := uint64(1+i%4) << 18
		// The counter starts writing on SIGUSR1, once it is listening
		// for it (its progress file exists).
		eventually(t, 10*time.Second, "the counter to be ready", func() bool {
			st, err := os.Stat(j.path("progress"))
			return err == nil && st.Size() == 8
		})
		if err := syscall.Kill(prog, syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "the program's output", func() bool { return written(j) >= at })
		if err := syscall.Kill(mgr, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		eventually(t, 15*time.Second, "the program and the sink to exit", func() bool { return !alive(prog) && !alive(sink) })
		wrote := written(j)
		got, err := os.ReadFile(j.path("out.log"))
		if err != nil {
			t.Fatal(err)
		}
		n := counterPrefix(t, got)
		if uint64(n) < wrote {
			lost += int(wrote) - n
			lossy++
			t.Errorf("run %d: the program wrote %d bytes, the transcript has %d: %d lost", i, wrote, n, int(wrote)-n)
		}
	}
	t.Logf("%d bytes lost in %d of 20 runs", lost, lossy)
}

// The sink of a killed manager may go on writing for a while (here a
// child of the program keeps the pipe open, so it writes until
// transcript.DrainTimeout): the sink of the next manager waits for it and
// never writes the same file at the same time.
func TestTrustPluginsNoTwoSinksOnOneFile(t *testing.T) {
	j := newJob(t)
	conf := j.write("job.hcl", `runner {
  program = ["sh", "-c", "sleep 1000 & echo $! >> holders; echo run; exec sleep 1000"]
}
transcript "file" {
  path = "out.log"
}
eventlog {
  logfile {
    path = "event.log"
  }
}
`)
	defer func() {
		data, _ := os.ReadFile(j.path("holders"))
		for _, f := range strings.Fields(string(data)) {
			if pid, _ := strconv.Atoi(f); pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}()
	j.startOK("-C", conf)
	waitFile(t, j.path("out.log"), "run\n")
	mgr, _ := strconv.Atoi(j.statusMap("-C", conf)["manager"])
	old := pluginPid(t, j, conf)
	if err := syscall.Kill(mgr, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the manager to die", func() bool { return !alive(mgr) })
	j.startOK("-C", conf)
	if !alive(old) {
		t.Fatal("the old sink did not outlive its manager while the pipe was held open")
	}
	eventually(t, 10*time.Second, "the new sink to wait", func() bool {
		events, _ := os.ReadFile(j.path("event.log"))
		return bytes.Contains(events, []byte("holds the transcript file's lock; waiting for it"))
	})
	// While the old sink lives, the new one writes nothing.
	if got, _ := os.ReadFile(j.path("out.log")); alive(old) && string(got) != "run\n" {
		t.Fatalf("the new sink wrote while the old one lives: %q", got)
	}
	eventually(t, 20*time.Second, "the old sink to exit", func() bool { return !alive(old) })
	waitFile(t, j.path("out.log"), "run\nrun\n")
	j.stopOK("-C", conf)
}
