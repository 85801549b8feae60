package main

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// owner is a file's uid, gid and mode, as lstat sees them.
type owner struct {
	uid, gid uint32
	mode     uint32
}

func lstatOwner(t *testing.T, p string) owner {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatalf("lstat %s: %v", p, err)
	}
	return owner{st.Uid, st.Gid, st.Mode}
}

// Root starting a job for another user creates at most one missing
// directory level for it and gives it that user; it must never change the
// owner of something it did not create, nor create under a symbolic link
// that user planted. Each case puts something hostile in the way and
// checks that start fails naming the path and that no owner changed.
func TestTrustPathsRootCreatesOnlyItsOwn(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: needs root (chown to another user)")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("SKIPPED: no user nobody")
	}
	nuid, _ := strconv.Atoi(nobody.Uid)
	ngid, _ := strconv.Atoi(nobody.Gid)

	tests := []struct {
		name string
		args []string // after -u nobody -p 'sleep 100'
		// names the error must mention (relative to the job directory)
		names []string
		// created must not exist afterwards
		created string
	}{
		{"socket-dir-is-a-root-file", []string{"-s", "victim/zdsock"}, []string{"victim"}, ""},
		{"socket-dir-under-planted-link", []string{"-s", "nob/var/sub/zdsock"}, []string{"nob/var"}, "rootdir/sub"},
		{"directory-is-a-root-file", []string{"-z", "victim"}, []string{"victim"}, ""},
		{"directory-under-planted-link", []string{"-z", "nob/var/sub"}, []string{"nob/var"}, "rootdir/sub"},
		{"directory-is-a-planted-dangling-link", []string{"-z", "nob/dangling"}, []string{"nob/dangling"}, "rootdir/new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJob(t)
			victim := j.path("victim")
			if err := os.WriteFile(victim, []byte("root's\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			rootdir := j.path("rootdir")
			if err := os.Mkdir(rootdir, 0o755); err != nil {
				t.Fatal(err)
			}
			nob := j.path("nob")
			if err := os.Mkdir(nob, 0o755); err != nil {
				t.Fatal(err)
			}
			// What nobody could do in a directory it owns.
			for _, l := range [][2]string{{rootdir, "nob/var"}, {filepath.Join(rootdir, "new"), "nob/dangling"}} {
				if err := os.Symlink(l[0], j.path(l[1])); err != nil {
					t.Fatal(err)
				}
				if err := os.Lchown(j.path(l[1]), nuid, ngid); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chown(nob, nuid, ngid); err != nil {
				t.Fatal(err)
			}
			watched := []string{victim, rootdir, nob, j.path("nob/var"), j.path("nob/dangling"), j.dir}
			before := map[string]owner{}
			for _, p := range watched {
				before[p] = lstatOwner(t, p)
			}

			r := j.run(append([]string{"-u", "nobody", "-p", "sleep 100"}, append(tt.args, "start")...)...)
			if r.code == 0 {
				t.Fatalf("start succeeded: stdout %q stderr %q", r.out, r.err)
			}
			for _, name := range tt.names {
				if !strings.Contains(r.err, j.path(name)) {
					t.Errorf("stderr %q does not name %s", r.err, j.path(name))
				}
			}
			for _, p := range watched {
				if got := lstatOwner(t, p); got != before[p] {
					t.Errorf("%s changed: %+v, was %+v", p, got, before[p])
				}
			}
			if tt.created != "" {
				if _, err := os.Lstat(j.path(tt.created)); err == nil {
					t.Errorf("%s was created through nobody's link", tt.created)
				}
			}
			if strings.Contains(r.out, "started") {
				t.Errorf("stdout %q claims a start", r.out)
			}
		})
	}
}

// Values a job file gives are checked against this machine when the file
// is loaded (socket-name's directory, directory, user, the directories of
// transcript, logfile and the event log's files), in validate and in
// every action, reported at the value's file:line:column with the source
// line, for HCL and ZConfig files alike. Values of the command line keep
// the original's messages naming the option. Golden files hold stdout and
// stderr; regenerate with: go test ./cmd/zdaemon -run TrustPaths -update
func TestTrustPathsHostChecksGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"validate-hcl", []string{"validate", "REPO/testdata/trust/host.hcl"}, 2},
		{"validate-conf", []string{"validate", "REPO/testdata/trust/host.conf"}, 2},
		{"validate-no-host-hcl", []string{"validate", "-no-host-checks", "REPO/testdata/trust/host.hcl"}, 0},
		{"validate-no-host-conf", []string{"validate", "-no-host-checks", "REPO/testdata/trust/host.conf"}, 0},
		{"validate-uid", []string{"validate", "REPO/testdata/trust/uid.hcl"}, 2},
		{"start-hcl", []string{"-C", "REPO/testdata/trust/host.hcl", "start"}, 2},
		{"start-conf", []string{"-C", "REPO/testdata/trust/host.conf", "start"}, 2},
		{"status-conf", []string{"-C", "REPO/testdata/trust/host.conf", "status"}, 2},
		{"start-relative-transcript", []string{"-C", "REPO/testdata/trust/transcript.hcl", "start"}, 2},
		{"command-line-wins", []string{"-C", "REPO/testdata/trust/transcript.hcl", "-t", "out.log", "status"}, 3},
		{"command-line-socket", []string{"-p", "sleep 100", "-s", "/nonexistent-zd/run/app/zdsock", "start"}, 2},
		{"command-line-directory", []string{"-p", "sleep 100", "-z", "/nonexistent-zd/srv/app", "start"}, 2},
		{"command-line-user", []string{"-p", "sleep 100", "-u", "nosuchuserzd", "start"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runGolden(t, filepath.Join("testdata", "trust", tt.name+".golden"), tt.args, tt.code)
		})
	}
}

// A transcript the manager cannot open (here -t, which the original never
// checks on the command line) fails start before it returns: the error
// is on start's stderr in plain words, never a gRPC text, and nothing of
// it reaches the next command; no manager is left (newJob's clean-up).
func TestTrustPathsTranscriptOpenFails(t *testing.T) {
	j := newJob(t)
	out := j.path("nodir/out.log")
	r := j.run("-p", "sleep 100", "-t", out, "start")
	if r.code == 0 {
		t.Fatalf("start succeeded: %q %q", r.out, r.err)
	}
	want := "Error: cannot open transcript " + out + ": no such file or directory\n"
	if r.err != want {
		t.Errorf("start stderr %q, want %q", r.err, want)
	}
	if strings.Contains(r.out, "started") {
		t.Errorf("start stdout %q claims a start", r.out)
	}
	st := j.run("-p", "sleep 100", "-t", out, "status")
	if st.code != 3 || st.out != "daemon manager not running\n" || st.err != "" {
		t.Errorf("status after the failed start: exit %d, stdout %q, stderr %q", st.code, st.out, st.err)
	}
	for _, s := range []string{r.out, r.err, st.out, st.err} {
		if strings.Contains(s, "rpc error") {
			t.Errorf("gRPC text reached the user: %q", s)
		}
	}
}

// The notification socket's path (<socket>.notify) is removed only when
// it holds a leftover socket: a file someone put there is left alone and
// start fails, naming it.
func TestTrustPathsNotifySocketLeavesFilesAlone(t *testing.T) {
	j := newJob(t)
	planted := j.write("zdsock.notify", "not a socket\n")
	conf := j.write("job.hcl", "runner {\n  program = \"sleep 100\"\n  socket-name = \"zdsock\"\n}\nhealthcheck \"notify\" {}\n")
	r := j.run("-C", conf, "start")
	if r.code == 0 {
		t.Fatalf("start succeeded beside a planted file: %q %q", r.out, r.err)
	}
	if !strings.Contains(r.err, planted) {
		t.Errorf("stderr %q does not name %s", r.err, planted)
	}
	if data, err := os.ReadFile(planted); err != nil || string(data) != "not a socket\n" {
		t.Errorf("planted file changed: %q, %v", data, err)
	}
}

// A transcript "file" block whose directory is missing is an error at the
// block's path at load, in validate and at start, as the runner's
// transcript is; -no-host-checks skips it.
func TestTrustPathsFileSinkBlock(t *testing.T) {
	j := newJob(t)
	conf := j.write("job.hcl", "runner {\n  program = \"sleep 100\"\n}\ntranscript \"file\" {\n  path = \"/nonexistent-zd/a/out.log\"\n}\n")
	for _, args := range [][]string{{"validate", conf}, {"-C", conf, "start"}} {
		r := j.must(2, args...)
		if !strings.Contains(r.err, "Error: Missing directory of transcript") || !strings.Contains(r.err, "job.hcl:5") {
			t.Fatalf("%v: stderr %q", args, r.err)
		}
	}
	j.must(0, "validate", "-no-host-checks", conf)
}

// The directories of the transcript and log files are checked where a
// manager may start, not by the commands of a running job: a log
// directory removed under it never keeps anyone from stopping it.
func TestTrustPathsRunningJobWithoutLogDir(t *testing.T) {
	j := newJob(t)
	if err := os.Mkdir(j.path("logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := j.write("job.hcl", "runner {\n  program    = \"sleep 100\"\n  transcript = \"logs/out.log\"\n  logfile    = \"logs/app.log\"\n}\n")
	pid := j.startOK("-C", conf)
	if err := os.RemoveAll(j.path("logs")); err != nil {
		t.Fatal(err)
	}
	j.must(0, "-C", conf, "status")
	j.must(0, "-C", conf, "kill", "CONT")
	r := j.must(2, "-C", conf, "restart") // would start a manager if none ran
	if !strings.Contains(r.err, "Missing directory of transcript") {
		t.Fatalf("restart: %q", r.err)
	}
	j.stopOK("-C", conf)
	if alive(pid) {
		t.Fatal("program survived stop")
	}
}
