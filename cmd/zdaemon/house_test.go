package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zdaemon/zdaemon/core/config"
)

// A client without its manager executable says so plainly, and only
// where it needs it: status still answers.
func TestManagerExecutableMissing(t *testing.T) {
	j := newJob(t)
	lone := j.path("lone")
	if err := os.Mkdir(lone, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(zdaemonBin)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(lone, "zdaemon")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	job := j.write("job.hcl", "runner {\n  program = \"sleep 100\"\n  socket-name = \"zdsock\"\n}\ntranscript \"file\" {\n  path = \"out.log\"\n}\n")
	missing := fmt.Sprintf("Error: cannot find the manager executable zdrun next to %s\n", bin)
	tests := []struct {
		name    string
		args    []string
		code    int
		out, er string
	}{
		{"start", []string{"-p", "sleep 100", "-s", "zdsock", "start"}, 1, "", missing},
		{"run", []string{"-p", "sleep 100", "-s", "zdsock", "run"}, 1, "", missing},
		{"start with a transcript block", []string{"-C", job, "start"}, 1, "", missing},
		{"validate with a transcript block", []string{"validate", job}, 1, "", missing},
		{"status", []string{"-p", "sleep 100", "-s", "zdsock", "status"}, 3, "daemon manager not running\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := j.runWith(bin, tt.args...)
			if r.code != tt.code || !strings.HasSuffix(r.out, tt.out) || r.err != tt.er {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", r.code, r.out, r.err, tt.code, tt.out, tt.er)
			}
		})
	}
}

// Without zdrun-plugins beside zdrun, a job without plugins still runs
// (zdrun is its whole manager), and a job with plugins, a plugin block's
// check and the built-in plugins fail at once, saying what is missing.
func TestPluginManagerMissing(t *testing.T) {
	j := newJob(t)
	lone := j.installed("lone", zdaemonBin, zdrunBin)
	bin := filepath.Join(lone, "zdaemon")
	job := j.write("job.hcl", "runner {\n  program = \"sleep 100\"\n  socket-name = \"zdsock\"\n}\ntranscript \"file\" {\n  path = \"out.log\"\n}\n")
	tested := j.write("tested.hcl", "runner {\n  program = \"sleep 100\"\n  socket-name = \"zdsock\"\n  start-test-program = \"true\"\n}\n")
	missing := fmt.Sprintf("cannot find zdrun-plugins next to %s: it runs the jobs with plugins (a transcript file, start tests) and checks plugin blocks; build it beside zdrun (go build -o DIR/ ./cmd/zdaemon ./cmd/zdrun ./cmd/zdrun-plugins)", filepath.Join(lone, "zdrun"))
	described := fmt.Sprintf("Error: the manager executable %s could not describe the plugins: Error: %s\n", filepath.Join(lone, "zdrun"), missing)
	plain := []string{"-p", "sleep 100", "-s", "zdsock"}
	tests := []struct {
		name string
		args []string
		code int
		er   string
	}{
		{"start with a transcript block", []string{"-C", job, "start"}, 1, described},
		{"validate with a transcript block", []string{"validate", job}, 1, described},
		{"start with a transcript file", append(plain, "-t", "out.log", "start"), 1, described},
		{"run with a start test", []string{"-C", tested, "run"}, 1, described},
		{"start without plugins", append(plain, "start"), 0, ""},
		{"stop", append(plain, "stop"), 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := j.runWith(bin, tt.args...)
			if r.code != tt.code || r.err != tt.er {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, stderr %q", r.code, r.out, r.err, tt.code, tt.er)
			}
		})
	}
	if r := j.runCmd(nil, filepath.Join(lone, "zdrun"), "plugin", "transcript", "file"); r.code != 1 || r.err != "Error: "+missing+"\n" {
		t.Errorf("zdrun plugin: exit %d, stderr %q", r.code, r.err)
	}
	// A manager handed a job with plugins (the client checked it with a
	// zdrun-plugins that has gone since) says so, and runs nothing.
	cmd, stderr := startAttached(t, j, filepath.Join(lone, "zdrun"), testedConfig(j))
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 || stderr.String() != "Error: "+missing+"\n" {
		t.Errorf("zdrun --attached with a start test: %v, exit %d, stderr %q", err, code, stderr.String())
	}
	if _, err := os.Stat(j.path("zdsock")); err == nil {
		t.Error("the manager created its socket")
	}
}

// zdrun handed a job with plugins becomes zdrun-plugins: the same
// process, which runs the job with its start test.
func TestZdrunHandsOnJobsWithPlugins(t *testing.T) {
	j := newJob(t)
	cmd, stderr := startAttached(t, j, zdrunBin, testedConfig(j))
	args := []string{"-p", "sleep 100", "-s", j.path("zdsock")}
	eventually(t, 30*time.Second, "the program running", func() bool {
		r := j.run(append(args, "status")...)
		return r.code == 0 && strings.HasPrefix(r.out, "program running")
	})
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid)); exe != zdrunPluginsBin {
		t.Errorf("the manager runs %s, want %s", exe, zdrunPluginsBin)
	}
	if mgr := j.statusMap(args...)["manager"]; mgr != fmt.Sprint(cmd.Process.Pid) {
		t.Errorf("the manager is %s, want the process zdrun started as, %d", mgr, cmd.Process.Pid)
	}
	j.stopOK(args...)
	if err := cmd.Wait(); err != nil {
		t.Errorf("the manager: %v; stderr %q", err, stderr.String())
	}
}

// testedConfig is a job with a start test (a plugin) in j.
func testedConfig(j *job) *config.Config {
	cfg := config.Default()
	cfg.Program, cfg.Filename, cfg.SocketName = []string{"sleep", "100"}, "/bin/sleep", j.path("zdsock")
	cfg.Daemon = false
	cfg.StartTest = &config.CheckConfig{PluginConfig: config.PluginConfig{Kind: "program", Settings: map[string]any{"command": "true"}},
		Interval: 100 * time.Millisecond, Timeout: 10 * time.Second}
	return cfg
}

// startAttached starts the manager executable bin attached ("zdaemon run"
// does so through an exec) with cfg on its descriptor 3, in j.
func startAttached(t *testing.T, j *job, bin string, cfg *config.Config) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() { w.Write(data); w.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, "--attached")
	cmd.Dir = j.dir
	cmd.Env = append(os.Environ(), "ZD_TEST_JOB="+j.dir)
	cmd.ExtraFiles = []*os.File{r}
	stderr := new(strings.Builder)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stderr
}

// A client reached through a symlink finds the manager executable next to
// the file the link points to.
func TestManagerExecutableThroughSymlink(t *testing.T) {
	j := newJob(t)
	link := j.path("zd")
	if err := os.Symlink(zdaemonBin, link); err != nil {
		t.Fatal(err)
	}
	args := []string{"-p", "sleep 100", "-s", "zdsock"}
	if r := j.runWith(link, append(args, "start")...); r.code != 0 || !startedRe.MatchString(r.out) {
		t.Fatalf("start: exit %d, %q %q", r.code, r.out, r.err)
	}
	if r := j.runWith(link, append(args, "stop")...); r.code != 0 {
		t.Fatalf("stop: exit %d, %q %q", r.code, r.out, r.err)
	}
}

// "zdaemon run" becomes the manager: the process the user started is the
// one that serves the socket (what systemd's Type=simple needs), and it
// exits 0 when the program is stopped.
func TestRunIsTheManager(t *testing.T) {
	j := newJob(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := j.background(ctx, nil, zdaemonBin, "-p", "sleep 100", "-s", "zdsock", "run")
	done, errb := cmd.done, &cmd.err
	var st result
	eventually(t, 30*time.Second, "the program to run", func() bool {
		st = j.run("-p", "sleep 100", "-s", "zdsock", "status")
		return st.code == 0
	})
	long := j.must(0, "-p", "sleep 100", "-s", "zdsock", "status", "-l")
	if !strings.Contains(long.out, fmt.Sprintf("manager=%d\n", cmd.Process.Pid)) {
		t.Errorf("status -l %q: the manager is not the process run started (%d)", long.out, cmd.Process.Pid)
	}
	j.must(0, "-p", "sleep 100", "-s", "zdsock", "stop")
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v, stderr %q", err, errb.String())
		}
	case <-ctx.Done():
		t.Fatal("run did not exit after stop")
	}
}
