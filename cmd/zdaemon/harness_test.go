package main

import (
	"bytes"
	"context"
	"errors"
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

// zdaemonBin is the real client, built once by TestMain, zdrunBin the
// manager executable beside it and zdrunPluginsBin the manager with the
// plugin host; readyProg is the test program of the
// health-check tests (testdata/readyprog), badPlugin the misbehaving
// plugin of the reliability tests (testdata/badplugin); zdexecBin is the
// exec trampoline beside zdrun, listenProg the server of the listen
// tests (testdata/listenprog).
var zdaemonBin, zdrunBin, zdrunPluginsBin, readyProg, badPlugin, zdexecBin, listenProg string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zdbin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Other users (tests with -u nobody) must be able to run it.
	_ = os.Chmod(dir, 0o755)
	zdaemonBin = filepath.Join(dir, "zdaemon")
	zdrunBin = filepath.Join(dir, "zdrun")
	zdrunPluginsBin = filepath.Join(dir, "zdrun-plugins")
	readyProg = filepath.Join(dir, "readyprog")
	badPlugin = filepath.Join(dir, "badplugin")
	zdexecBin = filepath.Join(dir, "zdexec")
	listenProg = filepath.Join(dir, "listenprog")
	for _, b := range [][2]string{{zdaemonBin, "."}, {zdrunBin, "../zdrun"}, {zdrunPluginsBin, "../zdrun-plugins"}, {readyProg, "./testdata/readyprog"}, {badPlugin, "./testdata/badplugin"},
		{zdexecBin, "../zdexec"}, {listenProg, "./testdata/listenprog"}} {
		build := exec.Command("go", "build", "-o", b[0], b[1])
		build.Env = append(os.Environ(), "CGO_ENABLED=0") // as the README builds it
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", b[1], err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// job is one scratch directory with its own socket, and the processes a
// test started there.
type job struct {
	t   testing.TB
	dir string
	env []string
}

// newJob makes a short scratch directory (sun_path is 108 bytes) and
// registers a clean-up that kills, by pid, every manager and program the
// test left behind, and fails the test if there were any.
func newJob(t testing.TB) *job {
	t.Helper()
	dir, err := os.MkdirTemp(scratchBase(), "zd")
	if err != nil {
		t.Fatal(err)
	}
	j := &job{t: t, dir: dir}
	t.Cleanup(func() {
		// A manager that has just answered "stopped" may take a moment
		// to exit: give processes a bounded time to go by themselves.
		deadline := time.Now().Add(5 * time.Second)
		left := j.leftovers()
		for len(left) > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			left = j.leftovers()
		}
		var named []string
		for _, pid := range left {
			named = append(named, describePid(pid))
		}
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if len(left) > 0 && !t.Failed() {
			events, _ := os.ReadFile(filepath.Join(dir, "event.log"))
			t.Errorf("processes left behind: %s\nevent log:\n%s", strings.Join(named, ", "), events)
		}
		os.RemoveAll(dir)
	})
	return j
}

// scratchBase is where jobs make their directories: $TMPDIR, unless it is
// too long for the sockets made below it (a job's control socket, the
// plugin socket directory beside it and go-plugin's sockets in that must
// fit sun_path's 108 bytes, and a test's own $TMPDIR in the job's
// directory holds the TMPDIR fallback's), then /tmp. A test that wants
// $TMPDIR itself sets it for the run.
func scratchBase() string {
	if tmp := os.TempDir(); len(tmp) <= 12 {
		return tmp
	}
	return "/tmp"
}

// leftovers lists live processes whose cwd or command line points into the
// job's directory, or that run our binary for it: found by pid in /proc.
func (j *job) leftovers() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:])); len(f) > 0 && f[0] == "Z" {
				continue // a zombie: already dead
			}
		}
		cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if cwd == j.dir || strings.HasPrefix(cwd, j.dir+"/") || bytes.Contains(env, []byte("ZD_TEST_JOB="+j.dir+"\x00")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// describePid names a process for a failure message: its pid, state and
// command line, read from /proc.
func describePid(pid int) string {
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	state := "?"
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:])); len(f) > 0 {
			state = f[0]
		}
	}
	return fmt.Sprintf("%d (%s %q)", pid, state, strings.TrimRight(strings.ReplaceAll(string(cmdline), "\x00", " "), " "))
}

// result of one zdaemon run.
type result struct {
	out, err string
	code     int
	took     time.Duration
}

// run runs zdaemon in the job's directory, bounded by a minute.
func (j *job) run(args ...string) result {
	j.t.Helper()
	return j.runIn(nil, args...)
}

func (j *job) runIn(stdin []byte, args ...string) result {
	j.t.Helper()
	return j.runCmd(stdin, zdaemonBin, args...)
}

// runCmd runs name with args in the job's directory, bounded by a minute,
// with the job's marker in its environment: the managers and programs it
// starts inherit it, so leftovers finds them by pid.
func (j *job) runCmd(stdin []byte, name string, args ...string) result {
	j.t.Helper()
	return j.runCmdWithin(time.Minute, stdin, name, args...)
}

// runCmdWithin is runCmd bounded by d: a command still running then is
// killed and fails the test.
func (j *job) runCmdWithin(d time.Duration, stdin []byte, name string, args ...string) result {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = j.dir
	cmd.Env = append(append(os.Environ(), "ZD_TEST_JOB="+j.dir), j.env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{out: out.String(), err: errb.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		j.t.Fatalf("%s %s: still running after %v\nstdout: %q\nstderr: %q", name, strings.Join(args, " "), d, r.out, r.err)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		j.t.Fatalf("%s %v: %v", name, args, err)
	}
	return r
}

// must runs zdaemon and requires an exit status.
func (j *job) must(code int, args ...string) result {
	j.t.Helper()
	r := j.run(args...)
	if r.code != code {
		j.t.Fatalf("zdaemon %s: exit %d, want %d\nstdout: %q\nstderr: %q", strings.Join(args, " "), r.code, code, r.out, r.err)
	}
	return r
}

// write creates a file in the job directory.
func (j *job) write(name, content string) string {
	j.t.Helper()
	p := filepath.Join(j.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		j.t.Fatal(err)
	}
	return p
}

// path returns an absolute path in the job directory.
func (j *job) path(name string) string { return filepath.Join(j.dir, name) }

var (
	startedRe   = regexp.MustCompile(`^(\. )*\ndaemon process started, pid=(\d+)\n$`)
	restartedRe = regexp.MustCompile(`^(\. )*\ndaemon process restarted, pid=(\d+)\n$`)
	stoppedRe   = regexp.MustCompile(`^(\. )*\ndaemon process stopped\n$`)
)

// startOK runs start and returns the program's pid.
func (j *job) startOK(args ...string) int {
	j.t.Helper()
	r := j.must(0, append(args, "start")...)
	m := startedRe.FindStringSubmatch(r.out)
	if m == nil {
		j.t.Fatalf("start output %q (stderr %q)", r.out, r.err)
	}
	pid, _ := strconv.Atoi(m[2])
	return pid
}

// startWords runs start with extra program words after the action.
func (j *job) startWords(opts []string, words ...string) int {
	j.t.Helper()
	r := j.must(0, append(append(opts, "start"), words...)...)
	m := startedRe.FindStringSubmatch(r.out)
	if m == nil {
		j.t.Fatalf("start output %q (stderr %q)", r.out, r.err)
	}
	pid, _ := strconv.Atoi(m[2])
	return pid
}

// stopOK runs stop and checks its output.
func (j *job) stopOK(args ...string) {
	j.t.Helper()
	r := j.must(0, append(args, "stop")...)
	if !stoppedRe.MatchString(r.out) {
		j.t.Fatalf("stop output %q", r.out)
	}
}

// awaitRunning waits until the manager counts the program's run as
// started: a spawned run is "starting" for its start grace (20 ms by
// default), and a client that saw the spawn in history may ask again
// within it.
func (j *job) awaitRunning(args ...string) {
	j.t.Helper()
	eventually(j.t, 30*time.Second, "the run to count as started", func() bool {
		return strings.Contains(j.run(append(args, "status", "-json")...).out, `"state": "running"`)
	})
}

// statusMap runs status -l and parses the key=value lines.
func (j *job) statusMap(args ...string) map[string]string {
	j.t.Helper()
	r := j.must(0, append(args, "status", "-l")...)
	kv := map[string]string{}
	for _, line := range strings.Split(r.out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// alive reports whether pid is a live (non-zombie) process.
func alive(pid int) bool {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

// eventually polls cond every 10 ms for at most d: for waiting on another
// process's state, which sends no notification.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	pollUntil(t, d, 10*time.Millisecond, what, cond)
}

// pollUntil polls cond every interval for at most d.
func pollUntil(t testing.TB, d, every time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(every)
	}
}

// procField reads one field of /proc/PID/stat (1-based after the comm).
func procStat(t testing.TB, pid int) []string {
	t.Helper()
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("read stat of %d: %v", pid, err)
	}
	return strings.Fields(string(st[bytes.LastIndexByte(st, ')')+2:]))
}

// buildExample builds the example program in examples/<name> into the
// job's directory (as a user would, without cgo) and returns its path.
func (j *job) buildExample(name string) string {
	j.t.Helper()
	bin := j.path(name)
	build := exec.Command("go", "build", "-o", bin, "../../examples/"+name)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		j.t.Fatalf("build examples/%s: %v\n%s", name, err, out)
	}
	return bin
}

// installed is a directory of the job holding copies of only the given
// executables: an installation with some of zdaemon's files missing.
func (j *job) installed(name string, bins ...string) string {
	j.t.Helper()
	dir := j.path(name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		j.t.Fatal(err)
	}
	for _, b := range bins {
		data, err := os.ReadFile(b)
		if err != nil {
			j.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(b)), data, 0o755); err != nil {
			j.t.Fatal(err)
		}
	}
	return dir
}

// syncBuffer is a bytes.Buffer a process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bgCmd is a command of the job running in the background (zdaemon run,
// say): its output so far, and done, which delivers Wait's result once.
type bgCmd struct {
	*exec.Cmd
	out, err syncBuffer
	done     chan error
}

// background starts name with args in the job's directory, marked as the
// job's for the leftover check, env added to ours; ctx bounds its life.
func (j *job) background(ctx context.Context, env []string, name string, args ...string) *bgCmd {
	j.t.Helper()
	b := &bgCmd{Cmd: exec.CommandContext(ctx, name, args...), done: make(chan error, 1)}
	b.Dir = j.dir
	b.Env = append(append(os.Environ(), "ZD_TEST_JOB="+j.dir), env...)
	b.Stdout, b.Stderr = &b.out, &b.err
	if err := b.Start(); err != nil {
		j.t.Fatal(err)
	}
	go func() { b.done <- b.Wait() }()
	return b
}
