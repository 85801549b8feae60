package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zdaemon/zdaemon/core/controlproto"
)

// The upgrade tests' builds: two versions of the managers (zdrun and
// zdrun-plugins, in a directory each) and the counter program, built once
// into TestMain's directory.
var upgradeBuild struct {
	once               sync.Once
	oldZdrun, newZdrun string // the directories
	sigCounter         string
	err                error
}

const (
	oldVersion = "upgrade-test-old"
	newVersion = "upgrade-test-new"
)

func upgradeBinaries(t *testing.T) (oldZdrun, newZdrun, counter string) {
	t.Helper()
	b := &upgradeBuild
	b.once.Do(func() {
		dir := filepath.Dir(zdaemonBin)
		b.oldZdrun, b.newZdrun = filepath.Join(dir, "managers-old"), filepath.Join(dir, "managers-new")
		b.sigCounter = filepath.Join(dir, "sigcounter")
		const versionVar = "-X github.com/zdaemon/zdaemon/core/daemon.Version="
		var builds [][]string
		for _, v := range []struct{ dir, version string }{{b.oldZdrun, oldVersion}, {b.newZdrun, newVersion}} {
			builds = append(builds,
				[]string{"-ldflags", versionVar + v.version, "-o", filepath.Join(v.dir, "zdrun"), "../zdrun"},
				[]string{"-ldflags", versionVar + v.version, "-o", filepath.Join(v.dir, "zdrun-plugins"), "../zdrun-plugins"})
		}
		builds = append(builds, []string{"-o", b.sigCounter, "./testdata/sigcounter"})
		for _, c := range builds {
			build := exec.Command("go", append([]string{"build"}, c...)...)
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				b.err = fmt.Errorf("go build %v: %v\n%s", c, err, out)
				return
			}
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.oldZdrun, b.newZdrun, b.sigCounter
}

// upgradeJob is a job with its own copy of the client, the trampoline and
// the old manager executables (bin/zdaemon, bin/zdexec, bin/zdrun,
// bin/zdrun-plugins), so that installing new ones touches no other test,
// running sigcounter into a transcript.
type upgradeJob struct {
	*job
	bin  string
	opts []string
}

func newUpgradeJob(t *testing.T) *upgradeJob {
	t.Helper()
	oldZdrun, _, counter := upgradeBinaries(t)
	j := newJob(t)
	conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program    = [%q, %q]
  transcript = %q
}
eventlog {
  level = "info"
  logfile {
    path = %q
  }
}
`, counter, j.path("signals"), j.path("out.log"), j.path("events.log")))
	u := &upgradeJob{job: j, bin: j.path("bin"), opts: []string{"-C", conf}}
	if err := os.Mkdir(u.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, zdaemonBin, filepath.Join(u.bin, "zdaemon"), 0o755)
	copyFile(t, zdexecBin, filepath.Join(u.bin, "zdexec"), 0o755)
	u.installManagers(oldZdrun)
	return u
}

// zd runs this job's client with the job's options.
func (u *upgradeJob) zd(args ...string) result {
	u.t.Helper()
	return u.runCmd(nil, filepath.Join(u.bin, "zdaemon"), append(append([]string(nil), u.opts...), args...)...)
}

// background runs this job's client with the job's options on a goroutine
// of its own (bounded by a minute); its result arrives on the channel.
func (u *upgradeJob) background(args ...string) <-chan result {
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	cmd := exec.CommandContext(ctx, filepath.Join(u.bin, "zdaemon"), append(append([]string(nil), u.opts...), args...)...)
	cmd.Dir = u.dir
	cmd.Env = append(os.Environ(), "ZD_TEST_JOB="+u.dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		u.t.Fatal(err)
	}
	go func() {
		defer cancel()
		err := cmd.Wait()
		r := result{out: out.String(), err: errb.String(), took: time.Since(start), code: cmd.ProcessState.ExitCode()}
		if ctx.Err() != nil {
			r.err += "\n(killed after a minute)"
		}
		_ = err
		done <- r
	}()
	return done
}

// install puts the file src in place of both manager executables
// (bin/zdrun, bin/zdrun-plugins) as an upgrade does: written beside each,
// then renamed over it (a new inode; the running manager's stays as it
// was).
func (u *upgradeJob) install(src string, mode os.FileMode) {
	u.t.Helper()
	for _, name := range managerNames {
		u.installAs(name, src, mode)
	}
}

// installManagers installs the managers built into dir, as install does.
func (u *upgradeJob) installManagers(dir string) {
	u.t.Helper()
	for _, name := range managerNames {
		u.installAs(name, filepath.Join(dir, name), 0o755)
	}
}

var managerNames = []string{"zdrun", "zdrun-plugins"}

// installAs writes src beside bin/name and renames it over it.
func (u *upgradeJob) installAs(name, src string, mode os.FileMode) {
	u.t.Helper()
	tmp := filepath.Join(u.bin, "."+name+".new")
	copyFile(u.t, src, tmp, mode)
	if err := os.Rename(tmp, filepath.Join(u.bin, name)); err != nil {
		u.t.Fatal(err)
	}
}

func copyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
}

// lines counts the complete lines of the transcript.
func (u *upgradeJob) lines() int {
	data, _ := os.ReadFile(u.path("out.log"))
	return bytes.Count(data, []byte("\n"))
}

// awaitLines waits until the transcript holds more than n lines.
func (u *upgradeJob) awaitLines(n int, what string) {
	u.t.Helper()
	eventually(u.t, 20*time.Second, what, func() bool { return u.lines() > n })
}

// status is status -l's key=value lines.
func (u *upgradeJob) status() map[string]string {
	u.t.Helper()
	r := u.zd("status", "-l")
	if r.code != 0 {
		u.t.Fatalf("status -l: exit %d, %q %q", r.code, r.out, r.err)
	}
	kv := map[string]string{}
	for _, line := range strings.Split(r.out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// showsVersion checks that show names the manager's version.
func (u *upgradeJob) showsVersion(version string) {
	u.t.Helper()
	r := u.zd("show")
	if want := "manager:      zdrun " + version + "\n"; r.code != 0 || !strings.Contains(r.out, want) {
		u.t.Errorf("show: exit %d, want a line %q in:\n%s", r.code, want, r.out)
	}
}

// sinkLine is show's line of the transcript sink: its pid and restarts.
func (u *upgradeJob) sinkLine() string {
	u.t.Helper()
	r := u.zd("show")
	for _, line := range strings.Split(r.out, "\n") {
		if strings.Contains(line, "transcript file pid=") {
			return strings.TrimSpace(line)
		}
	}
	u.t.Fatalf("show lists no transcript sink:\n%s", r.out)
	return ""
}

// checkCounter reads the whole transcript after the job stopped: the
// counter from 0 on, every line once, nothing else.
func (u *upgradeJob) checkCounter() int {
	u.t.Helper()
	data, err := os.ReadFile(u.path("out.log"))
	if err != nil {
		u.t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	if last := lines[len(lines)-1]; last != "" {
		u.t.Errorf("the transcript ends in a partial line %q", last)
	}
	lines = lines[:len(lines)-1]
	for i, line := range lines {
		if line != strconv.Itoa(i) {
			u.t.Fatalf("transcript line %d is %q, want %d (a gap, a duplicate or a stranger's line)", i+1, line, i)
		}
	}
	return len(lines)
}

var signalLineRe = regexp.MustCompile(`^SIGNAL terminated after \d+ lines\n$`)

// checkSignals: the program got one signal in its life, the SIGTERM of
// the stop.
func (u *upgradeJob) checkSignals() {
	u.t.Helper()
	data, _ := os.ReadFile(u.path("signals"))
	if !signalLineRe.Match(data) {
		u.t.Errorf("the program got these signals:\n%s\nwant only the SIGTERM of stop", data)
	}
}

var upgradedRe = regexp.MustCompile(`^daemon manager upgraded to zdrun ` + newVersion + ` \(was ` + oldVersion + `\); pid=(\d+)\n$`)

// zdaemon upgrade while the program writes a counter stream: the program
// goes on undisturbed (same pid, same start time, no signal, every byte
// in the transcript exactly once), the manager keeps its pid and answers
// status and show as the new version, and a stop afterwards is a normal
// one and leaves nothing behind (newJob's clean-up checks).
func TestUpgradeUnderRunningProgram(t *testing.T) {
	oldZdrun, newZdrun, _ := upgradeBinaries(t)
	u := newUpgradeJob(t)
	if r := u.zd("start"); r.code != 0 || !startedRe.MatchString(r.out) {
		t.Fatalf("start: exit %d, %q %q", r.code, r.out, r.err)
	}
	before := u.status()
	pid, _ := strconv.Atoi(before["application"])
	startTime := procStat(t, pid)[19] // starttime, in clock ticks since boot
	u.showsVersion(oldVersion)
	sinkBefore := u.sinkLine()
	u.awaitLines(1000, "the program's first lines")

	// A client waiting for the program's end across the upgrade: the new
	// manager answers it, when the program ends.
	waitStart := time.Now()
	waiting := u.background("wait")

	// Status asked without a pause across the upgrade: every answer is a
	// manager's (never "nobody listens", never a closed connection).
	stopAsking := make(chan struct{})
	asked := make(chan []string, 1)
	go func() {
		var bad []string
		n := 0
		for {
			select {
			case <-stopAsking:
				asked <- append(bad, fmt.Sprintf("%d answers", n))
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			reply, err := controlproto.Do(ctx, u.path("zdsock"), "status")
			cancel()
			if err != nil || !strings.HasPrefix(reply, "status=") {
				bad = append(bad, fmt.Sprintf("%q %v", reply, err))
			}
			n++
		}
	}()

	u.installManagers(newZdrun)
	// The event log renamed (rotated) and not reopened: the new manager
	// writes into the same file, handed over, as the old one would.
	if err := os.Rename(u.path("events.log"), u.path("events.log.1")); err != nil {
		t.Fatal(err)
	}
	atUpgrade := u.lines()
	bytesBefore := u.transcriptBytes()
	r := u.zd("upgrade")
	m := upgradedRe.FindStringSubmatch(r.out)
	if r.code != 0 || m == nil || r.err != "" {
		t.Fatalf("upgrade: exit %d\nstdout: %q\nstderr: %q", r.code, r.out, r.err)
	}
	if m[1] != before["manager"] {
		t.Errorf("upgrade names manager pid %s, the manager was %s", m[1], before["manager"])
	}

	close(stopAsking)
	if got := <-asked; len(got) != 1 {
		t.Errorf("status across the upgrade failed: %v", got)
	} else {
		t.Logf("status across the upgrade: %s", got[0])
	}
	after := u.status()
	for _, k := range []string{"application", "manager", "lasttime", "should_be_up", "backoff"} {
		if after[k] != before[k] {
			t.Errorf("status %s changed across the upgrade: %s -> %s", k, before[k], after[k])
		}
	}
	if got := procStat(t, pid)[19]; got != startTime {
		t.Errorf("program %d start time changed: %s -> %s (a new process)", pid, startTime, got)
	}
	u.showsVersion(newVersion)
	u.awaitLines(atUpgrade+5000, "the program's lines after the upgrade")
	if got := u.transcriptBytes(); got <= bytesBefore {
		t.Errorf("status -json's transcript bytes went from %d to %d across the upgrade", bytesBefore, got)
	}

	// And back (a manager that took over hands over again), the sink
	// re-attached both times, never restarted.
	u.installManagers(oldZdrun)
	if r := u.zd("upgrade"); r.code != 0 || r.out != fmt.Sprintf("daemon manager upgraded to zdrun %s (was %s); pid=%s\n", oldVersion, newVersion, before["manager"]) {
		t.Fatalf("second upgrade: exit %d\nstdout: %q\nstderr: %q", r.code, r.out, r.err)
	}
	u.showsVersion(oldVersion)
	if got := u.sinkLine(); got != sinkBefore {
		t.Errorf("the sink changed across the upgrades: %q -> %q", sinkBefore, got)
	}
	u.awaitLines(u.lines()+5000, "the program's lines after the second upgrade")

	select {
	case w := <-waiting:
		t.Fatalf("wait ended at the upgrade: exit %d, %q %q", w.code, w.out, w.err)
	default:
	}
	stopAt := time.Now()
	r = u.zd("stop")
	if r.code != 0 || !stoppedRe.MatchString(r.out) {
		t.Fatalf("stop after the upgrade: exit %d, %q %q", r.code, r.out, r.err)
	}
	w := <-waiting
	if w.code != 0 || w.err != "" || !waitStart.Add(w.took).After(stopAt) {
		t.Errorf("wait across the upgrade: exit %d after %v (the stop began %v after it), stdout %q, stderr %q",
			w.code, w.took, stopAt.Sub(waitStart), w.out, w.err)
	}
	if r := u.zd("status"); r.code != 3 {
		t.Errorf("status after stop: exit %d, %q", r.code, r.out)
	}
	n := u.checkCounter()
	u.checkSignals()
	t.Logf("%d lines, %d of them before the upgrade", n, atUpgrade)
	events, _ := os.ReadFile(u.path("events.log.1"))
	upgraded := fmt.Sprintf("daemon manager upgraded from %s to %s (pid %s); supervising program pid %d", newVersion, oldVersion, before["manager"], pid)
	if !bytes.Contains(events, []byte(upgraded)) || !bytes.Contains(events, []byte("daemon process stopped")) && !bytes.Contains(events, []byte("Exiting")) {
		t.Errorf("the event log (the file handed over) lacks %q or the stop:\n%s", upgraded, events)
	}
	if _, err := os.Stat(u.path("events.log")); err == nil {
		t.Error("the new manager reopened the event log by its path instead of taking over its file")
	}
}

// An upgrade to an executable that cannot take over leaves the old
// manager and the program running, and says why (exit 1).
func TestUpgradeRefused(t *testing.T) {
	_, newZdrun, _ := upgradeBinaries(t)
	u := newUpgradeJob(t)
	if r := u.zd("start"); r.code != 0 {
		t.Fatalf("start: exit %d, %q %q", r.code, r.out, r.err)
	}
	before := u.status()
	script := func(body string) string { return u.write("zdrun-"+strconv.Itoa(len(body)), "#!/bin/sh\n"+body) }
	for _, tt := range []struct {
		name       string
		src        string
		mode       os.FileMode
		wantReason string
	}{
		{"not executable", filepath.Join(newZdrun, "zdrun-plugins"), 0o644, `the new manager executable cannot be run: can't exec '` + filepath.Join(u.bin, "zdrun-plugins") + `': permission denied`},
		{"exits at once", script("exit 3\n"), 0o755, `the new manager ` + filepath.Join(u.bin, "zdrun-plugins") + ` ended (exit status 3) without saying whether it can take over`},
		{"refuses the state", script("echo 'its state record has version 1; this manager reads versions 2 to 2'\nexit 1\n"), 0o755,
			`the new manager ` + filepath.Join(u.bin, "zdrun-plugins") + ` cannot take over: its state record has version 1; this manager reads versions 2 to 2`},
		{"an older zdrun", script("echo 'Usage: zdrun --handoff | --attached | describe | plugin KIND NAME' >&2\nexit 1\n"), 0o755,
			`the new manager ` + filepath.Join(u.bin, "zdrun-plugins") + ` does not know how to take over (it has no --can-adopt: an older zdrun)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u.install(tt.src, tt.mode)
			n := u.lines()
			r := u.zd("upgrade")
			want := "Error: cannot upgrade the daemon manager: " + tt.wantReason + "\nThe running manager goes on unchanged.\n"
			if r.code != 1 || r.out != "" || r.err != want {
				t.Errorf("upgrade: exit %d\nstdout: %q\nstderr: %q\nwant exit 1 and stderr %q", r.code, r.out, r.err, want)
			}
			after := u.status()
			for _, k := range []string{"application", "manager", "lasttime"} {
				if after[k] != before[k] {
					t.Errorf("status %s changed: %s -> %s", k, before[k], after[k])
				}
			}
			u.showsVersion(oldVersion)
			u.awaitLines(n+1000, "the program's lines after the refused upgrade")
		})
	}
	if r := u.zd("stop"); r.code != 0 || !stoppedRe.MatchString(r.out) {
		t.Fatalf("stop: exit %d, %q %q", r.code, r.out, r.err)
	}
	u.checkCounter()
	u.checkSignals()
}

// The check mode of the real zdrun: it takes over a record it reads and
// refuses one it does not, naming why.
func TestZdrunCanAdopt(t *testing.T) {
	_, newZdrun, _ := upgradeBinaries(t)
	j := newJob(t)
	for _, tt := range []struct {
		name, record string
		code         int
		out          string
	}{
		{"current", `{"version":1,"from":"x","parts":{"config":{},"manager":{}},"files":{"control":5,"listen:web":9}}`, 0,
			"ok version=" + newVersion + " record=1\n"},
		{"a job with plugins", `{"version":1,"from":"x","parts":{"config":{"metrics":{"address":"127.0.0.1:9"}},"manager":{}}}`, 1,
			"this job has plugins, which zdrun-plugins runs, not this executable\n"},
		{"newer format", `{"version":7,"from":"x"}`, 1, "its state record has version 7; this manager reads versions 1 to 1\n"},
		{"unknown part", `{"version":1,"from":"x","parts":{"frobnicator":{}}}`, 1,
			`this manager does not know the "frobnicator" that the running one hands over` + "\n"},
		{"not a record", `garbage`, 1, "read the state record: invalid character 'g' looking for beginning of value\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := j.write("record.json", tt.record)
			cmd := exec.Command(filepath.Join(newZdrun, "zdrun"), "--can-adopt")
			f, err := os.Open(rec)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cmd.ExtraFiles = []*os.File{f}
			out, err := cmd.Output()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || string(out) != tt.out {
				t.Errorf("zdrun --can-adopt: exit %d, %q; want exit %d, %q", code, out, tt.code, tt.out)
			}
		})
	}
}

// Against the original's manager, upgrade is not supported: exit 1, and
// the manager goes on.
func TestUpgradeAgainstOriginalManager(t *testing.T) {
	peer := originalPeer(t)
	j := newJob(t)
	opts := []string{"-p", "sleep 100"}
	if r := j.runWith(peer, append(opts, "start")...); r.code != 0 {
		t.Fatalf("the original's start: exit %d, %q %q", r.code, r.out, r.err)
	}
	r := j.run(append(opts, "upgrade")...)
	want := "Error: this daemon manager does not support upgrade (it is the original's, or older); restart it instead\n"
	if r.code != 1 || r.err != want {
		t.Errorf("upgrade: exit %d, stdout %q, stderr %q; want exit 1, stderr %q", r.code, r.out, r.err, want)
	}
	if r := j.run(append(opts, "status")...); r.code != 0 || !strings.HasPrefix(r.out, "program running; pid=") {
		t.Errorf("status after the refused upgrade: exit %d, %q", r.code, r.out)
	}
	if r := j.runWith(peer, append(opts, "stop")...); r.code != 0 {
		t.Errorf("the original's stop: exit %d, %q %q", r.code, r.out, r.err)
	}
}

// The notification endpoints are handed over: after an upgrade, a restart
// of a program with a notify check is up when the new run reports, on the
// same socket (sd_notify) or pipe (fd = N) the program was given.
func TestUpgradeKeepsNotifyEndpoints(t *testing.T) {
	_, newZdrun, _ := upgradeBinaries(t)
	for _, tt := range []struct {
		name, program, check string
	}{
		{"socket", fmt.Sprintf("[%q, \"-notify\"]", readyProg), `healthcheck "notify" {}`},
		{"pipe", `["sh", "-c", "echo >&5; exec 5>&-; exec sleep 100"]`, "healthcheck \"notify\" {\n  fd = 5\n}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpgradeJob(t)
			u.opts = []string{"-C", u.write("notify.hcl", fmt.Sprintf("runner {\n  program = %s\n  start-timeout = 20\n}\n%s\n", tt.program, tt.check))}
			if r := u.zd("start"); r.code != 0 || !startedRe.MatchString(r.out) {
				t.Fatalf("start: exit %d, %q %q", r.code, r.out, r.err)
			}
			u.installManagers(newZdrun)
			if r := u.zd("upgrade"); r.code != 0 || !upgradedRe.MatchString(r.out) {
				t.Fatalf("upgrade: exit %d, %q %q", r.code, r.out, r.err)
			}
			before := u.status()["application"]
			r := u.zd("restart")
			m := restartedRe.FindStringSubmatch(r.out)
			if r.code != 0 || m == nil || m[2] == before {
				t.Fatalf("restart after the upgrade: exit %d, %q %q (pid before %s)", r.code, r.out, r.err, before)
			}
			if r := u.zd("stop"); r.code != 0 || !stoppedRe.MatchString(r.out) {
				t.Fatalf("stop: exit %d, %q %q", r.code, r.out, r.err)
			}
		})
	}
}

// The new manager watches the control socket's path again (the old one
// closed its watch before the execve): a socket deleted after the upgrade
// is recreated, and answers for the same program.
func TestUpgradeWatchesTheSocketAgain(t *testing.T) {
	_, newZdrun, _ := upgradeBinaries(t)
	u := newUpgradeJob(t)
	if r := u.zd("start"); r.code != 0 || !startedRe.MatchString(r.out) {
		t.Fatalf("start: exit %d, %q %q", r.code, r.out, r.err)
	}
	u.installManagers(newZdrun)
	if r := u.zd("upgrade"); r.code != 0 || !upgradedRe.MatchString(r.out) {
		t.Fatalf("upgrade: exit %d, %q %q", r.code, r.out, r.err)
	}
	before := u.status()
	if before["manager"] == "" || before["application"] == "" {
		t.Fatalf("status after the upgrade: %v", before)
	}
	if err := os.Remove(u.path("zdsock")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the deleted socket recreated", func() bool {
		_, err := os.Stat(u.path("zdsock"))
		return err == nil
	})
	if after := u.status(); after["manager"] != before["manager"] || after["application"] != before["application"] {
		t.Fatalf("after the socket was recreated: %v, before: %v", after, before)
	}
	if r := u.zd("stop"); r.code != 0 || !stoppedRe.MatchString(r.out) {
		t.Fatalf("stop: exit %d, %q %q", r.code, r.out, r.err)
	}
}

// A program in back-off (it keeps crashing) is handed over too: the new
// manager keeps the governor's count and restarts it when the back-off
// ends.
func TestUpgradeInBackoff(t *testing.T) {
	_, newZdrun, _ := upgradeBinaries(t)
	u := newUpgradeJob(t)
	u.opts = []string{"-C", u.write("crash.hcl", "runner {\n  program = [\"sh\", \"-c\", \"exit 1\"]\n  backoff-limit = 30\n  start-timeout = 1\n}\n")}
	if r := u.zd("start"); r.code != 1 {
		t.Fatalf("start of a crashing program: exit %d, %q %q", r.code, r.out, r.err)
	}
	u.installManagers(newZdrun)
	// Upgraded while more than a second of a back-off is left, so
	// that status before and after see the same back-off (between two,
	// the program is starting for a moment, and an upgrade is refused).
	var before map[string]string
	pollUntil(t, 20*time.Second, 50*time.Millisecond, "a back-off with more than a second left", func() bool {
		before = u.status()
		delay, _ := strconv.ParseFloat(before["delay"], 64)
		now, _ := strconv.ParseFloat(before["now"], 64)
		return before["application"] == "0" && delay-now > 1.2
	})
	histBefore := u.zd("history", "-json").out
	r := u.zd("upgrade")
	if r.code != 0 || !upgradedRe.MatchString(r.out) {
		t.Fatalf("upgrade in back-off: exit %d, %q %q", r.code, r.out, r.err)
	}
	// The crash loop's history is handed over, run by run.
	if got := u.zd("history", "-json").out; got != histBefore || !strings.Contains(got, `"exit_code": 1`) {
		t.Errorf("history across the upgrade:\n%s\nbefore:\n%s", got, histBefore)
	}
	after := u.status()
	if after["manager"] != before["manager"] || after["backoff"] != before["backoff"] || after["application"] != "0" || after["lasttime"] != before["lasttime"] {
		t.Fatalf("status across the upgrade:\n%v\n%v", before, after)
	}
	// The new manager starts it when the back-off ends (and it crashes
	// again: the governor's count goes on from where it was).
	n, _ := strconv.Atoi(before["backoff"])
	pollUntil(t, time.Duration(n+10)*time.Second, 50*time.Millisecond, "a restart by the new manager", func() bool {
		return u.status()["lasttime"] != before["lasttime"]
	})
	if got, _ := strconv.Atoi(u.status()["backoff"]); got <= n {
		t.Errorf("back-off %d after the restart, want more than %d", got, n)
	}
	if r := u.zd("stop"); r.code != 0 {
		t.Fatalf("stop: exit %d, %q %q", r.code, r.out, r.err)
	}
}

// A start waiting for a program that is not up yet, on the hand-off of
// the manager it started, goes on waiting when an upgrade replaces that
// manager (the hand-off does not survive the exec): it asks the new
// manager over the socket and reports the program it starts.
func TestStartWaitingAcrossUpgrade(t *testing.T) {
	_, newZdrun, _ := upgradeBinaries(t)
	u := newUpgradeJob(t)
	ready := u.path("ready")
	u.opts = []string{"-C", u.write("late.hcl", fmt.Sprintf("runner {\n  program = [\"sh\", \"-c\", \"test -f %s || exit 1; exec sleep 1000\"]\n  backoff-limit = 30\n  start-timeout = 120\n}\n", ready))}
	started := u.background("start")
	// In a back-off with more than a second left: an upgrade is refused
	// while the program is starting.
	pollUntil(t, 20*time.Second, 50*time.Millisecond, "a back-off with more than a second left", func() bool {
		if u.zd("status").code != 0 { // the manager is not serving yet
			return false
		}
		st := u.status()
		delay, _ := strconv.ParseFloat(st["delay"], 64)
		now, _ := strconv.ParseFloat(st["now"], 64)
		return st["application"] == "0" && delay-now > 1.2
	})
	u.installManagers(newZdrun)
	if r := u.zd("upgrade"); r.code != 0 || !upgradedRe.MatchString(r.out) {
		t.Fatalf("upgrade while start waits: exit %d, %q %q", r.code, r.out, r.err)
	}
	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := <-started // bounded by background's minute
	m := startedRe.FindStringSubmatch(r.out)
	if r.code != 0 || m == nil {
		t.Fatalf("start across the upgrade: exit %d, %q %q", r.code, r.out, r.err)
	}
	if st := u.status(); st["application"] != m[2] {
		t.Errorf("start reported pid %s, the manager runs %s", m[2], st["application"])
	}
	if r := u.zd("stop"); r.code != 0 {
		t.Fatalf("stop: exit %d, %q %q", r.code, r.out, r.err)
	}
}

// The upgrade test with held listen sockets: a client connecting
// to the job's TCP socket as fast as it can through four upgrades (old,
// new, old, new) is never refused and every connection is answered, by
// the one program, which runs on with the same pid; the run history is
// handed over, and status -json answers from the new manager, with its
// version.
func TestUpgradeKeepsListenSockets(t *testing.T) {
	oldZdrun, newZdrun, _ := upgradeBinaries(t)
	u := newUpgradeJob(t)
	addr, metricsAddr := freePort(t), freePort(t)
	u.opts = []string{"-C", u.listenJob(addr, `, "-notify"`, "", `healthcheck "notify" {}`+"\n"+`metrics { address = "`+metricsAddr+`" }
eventlog {
  level = "debug"
  logfile { path = "`+u.path("ev.log")+`" }
}
`)}
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(u.path("ev.log"))
			t.Logf("event log:\n%s", b)
			b, _ = os.ReadFile(u.path("prog.log"))
			t.Logf("program's log:\n%s", b)
		}
	}()
	if r := u.zd("start"); r.code != 0 || !startedRe.MatchString(r.out) {
		t.Fatalf("start: exit %d, %q %q", r.code, r.out, r.err)
	}
	before := u.status()
	histBefore := u.zd("history", "-json")
	stop := make(chan struct{})
	h := hammerAt(addr, 4, stop)
	for i, dir := range []string{newZdrun, oldZdrun, newZdrun} {
		// Connections are made before and between the upgrades.
		made := h.madeSoFar()
		eventually(t, 20*time.Second, "connections before the upgrade", func() bool { return h.madeSoFar() > made+50 })
		u.installManagers(dir)
		if r := u.zd("upgrade"); r.code != 0 || !strings.HasPrefix(r.out, "daemon manager upgraded to zdrun ") {
			t.Fatalf("upgrade %d: exit %d, %q %q", i+1, r.code, r.out, r.err)
		}
	}
	made := h.madeSoFar()
	eventually(t, 20*time.Second, "connections after the upgrades", func() bool { return h.madeSoFar() > made+50 })
	close(stop)
	select {
	case <-h.finished:
	case <-time.After(60 * time.Second):
		t.Fatal("the clients did not finish")
	}
	if h.refused != 0 || len(h.errs) != 0 || h.answered != h.made {
		t.Fatalf("%d connections made, %d answered, %d refused; errors (first 5): %q", h.made, h.answered, h.refused, h.errs[:min(5, len(h.errs))])
	}
	if len(h.pids) != 1 || !h.pids["pid "+before["application"]] {
		t.Errorf("answered by %v, want only the program started first (pid %s)", h.pids, before["application"])
	}
	after := u.status()
	for _, k := range []string{"application", "manager", "lasttime"} {
		if after[k] != before[k] {
			t.Errorf("status %s changed across the upgrades: %s -> %s", k, before[k], after[k])
		}
	}
	if got := u.zd("history", "-json"); got.code != 0 || stripRan(got.out) != stripRan(histBefore.out) {
		t.Errorf("history across the upgrades:\n%s\nbefore:\n%s", got.out, histBefore.out)
	}
	var info struct {
		Manager struct {
			Pid     int    `json:"pid"`
			Version string `json:"version"`
		} `json:"manager"`
		Starts int `json:"starts"`
		Listen []struct {
			Name string `json:"name"`
		} `json:"listen"`
	}
	r := u.zd("status", "-json")
	if err := json.Unmarshal([]byte(r.out), &info); err != nil {
		t.Fatalf("status -json: %v\n%s", err, r.out)
	}
	if info.Manager.Version != newVersion || strconv.Itoa(info.Manager.Pid) != before["manager"] || info.Starts != 1 || len(info.Listen) != 1 {
		t.Errorf("status -json after the upgrades: %+v\n%s", info, r.out)
	}
	// The metrics endpoint was handed over too: the new manager answers
	// on it, with the counts of before.
	families := scrapeHTTP(t, metricsAddr)
	if got := metricValue(t, families, "zdaemon_program_starts_total", nil); got != 1 {
		t.Errorf("starts over HTTP after the upgrades: %v, want 1", got)
	}
	http.DefaultClient.CloseIdleConnections()
	if r := u.zd("stop"); r.code != 0 || !stoppedRe.MatchString(r.out) {
		t.Fatalf("stop: exit %d, %q %q", r.code, r.out, r.err)
	}
	// stop closed the socket with the manager.
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("the listen socket still accepts after stop")
	}
}

// stripRan drops the ran_seconds of a running run from history -json (it
// grows between two asks).
func stripRan(s string) string { return ranSecondsRe.ReplaceAllString(s, `"ran_seconds":_`) }

var ranSecondsRe = regexp.MustCompile(`"ran_seconds": *[0-9.e+-]+`)

// transcriptBytes is status -json's transcript.bytes_written.
func (u *upgradeJob) transcriptBytes() uint64 {
	u.t.Helper()
	r := u.zd("status", "-json")
	var st struct {
		Transcript struct {
			BytesWritten *uint64 `json:"bytes_written"`
		} `json:"transcript"`
	}
	if err := json.Unmarshal([]byte(r.out), &st); err != nil || st.Transcript.BytesWritten == nil {
		u.t.Fatalf("status -json: %v, no transcript.bytes_written in:\n%s", err, r.out)
	}
	return *st.Transcript.BytesWritten
}
