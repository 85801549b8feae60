package main

import (
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The plugin sockets of a job live in a directory of the job's, beside
// the control socket (or, for a socket path too long for go-plugin's
// below it, in $TMPDIR), in its manager's own (named by its pid): it holds the running sink's socket across two
// upgrades, the socket of that sink goes when it dies afterwards, a
// SIGKILLed manager's leftovers are gone at the next start,
// and after the stop neither the directory nor anything in $TMPDIR (a
// directory of the test, so that a leak there is seen) is left.
func TestPluginSocketDirLifecycle(t *testing.T) {
	tests := []struct {
		name string
		// sockDir is the control socket's directory in the job's.
		sockDir string
		// beside: the plugin socket directory is beside the socket, not
		// in $TMPDIR.
		beside bool
	}{
		{"beside the control socket", "", true},
		{"in TMPDIR for a long socket path", strings.Repeat("s", 60), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJob(t)
			tmp := j.path("tmp")
			sockDir := j.path(tt.sockDir)
			for _, d := range []string{tmp, sockDir} {
				if err := os.MkdirAll(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			j.env = append(j.env, "TMPDIR="+tmp)
			sock := filepath.Join(sockDir, "zdsock")
			want := filepath.Join(sockDir, ".zdsock.plugins")
			if !tt.beside {
				sum := fnv.New64a()
				sum.Write([]byte(sock))
				want = filepath.Join(tmp, fmt.Sprintf("zdaemon-%d-%016x", os.Geteuid(), sum.Sum64()))
			}
			conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program     = ["sleep", "1000"]
  socket-name = %q
}
transcript "file" {
  path = "out.log"
}
eventlog {
  logfile {
    path = "event.log"
  }
}
`, sock))
			opts := []string{"-C", conf}

			j.startOK(opts...)
			first := pluginSockets(t, want)
			mine := j.statusMap(opts...)["manager"] + "/plugin-dir"
			if len(first) != 1 || !strings.HasPrefix(first[0], mine) {
				t.Errorf("after start: plugin sockets %v in %s, want one in %s", first, want, mine)
			}
			for i := range 2 {
				if r := j.run(append(opts, "upgrade")...); r.code != 0 {
					t.Fatalf("upgrade %d: exit %d, %q %q", i+1, r.code, r.out, r.err)
				}
				if got := pluginSockets(t, want); !slices.Equal(got, first) {
					t.Errorf("after upgrade %d: plugin sockets %v, want the sink's %v kept", i+1, got, first)
				}
			}

			// The sink re-attached to, killed: the manager starts another,
			// and the dead one's directory goes (its go-plugin client,
			// made by re-attaching, does not know it).
			adopted := pluginPid(t, j, conf)
			if err := syscall.Kill(adopted, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			var sink int
			eventually(t, 20*time.Second, "the sink restarted", func() bool {
				sink = pluginPid(t, j, conf)
				return sink != adopted
			})
			restarted := pluginSockets(t, want)
			if len(restarted) != 1 || slices.Equal(restarted, first) {
				t.Errorf("after the adopted sink's death: plugin sockets %v, want only the restarted sink's (the dead one's %v removed)", restarted, first)
			}
			first = restarted

			st := j.statusMap(opts...)
			mgr, _ := strconv.Atoi(st["manager"])
			prog, _ := strconv.Atoi(st["application"])
			if mgr == 0 || prog == 0 {
				t.Fatalf("status -l names no manager or program: %v", st)
			}
			if err := syscall.Kill(mgr, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			eventually(t, 20*time.Second, "the manager, program and sink to go", func() bool {
				return !alive(mgr) && !alive(prog) && !alive(sink)
			})
			if got := pluginSockets(t, want); !slices.Equal(got, first) {
				t.Errorf("after the manager's SIGKILL: plugin sockets %v, want the dead sink's %v left", got, first)
			}

			j.startOK(opts...)
			if got := pluginSockets(t, want); len(got) != 1 || slices.Equal(got, first) {
				t.Errorf("after the start again: plugin sockets %v, want only the new sink's (the dead one's %v cleaned)", got, first)
			}
			st = j.statusMap(opts...)
			mgr, _ = strconv.Atoi(st["manager"])
			j.stopOK(opts...)
			eventually(t, 20*time.Second, "the manager to exit", func() bool { return !alive(mgr) })
			if _, err := os.Lstat(want); err == nil || !os.IsNotExist(err) {
				t.Errorf("after the stop: the plugin socket directory %s is still there (%v)", want, err)
			}
			if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) > 0 {
				t.Errorf("left in TMPDIR: %v", left)
			}
		})
	}
}

// pluginSockets lists what the job's plugin socket directory dir holds:
// each manager's directory (its pid) with go-plugin's
// plugin-dirNNN/pluginNNN in it, by their paths below dir, an empty
// directory with a trailing slash.
func pluginSockets(t *testing.T, dir string) []string {
	t.Helper()
	if _, err := os.Lstat(dir); err != nil {
		t.Errorf("plugin socket directory: %v", err)
		return nil
	}
	var socks []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Errorf("plugin socket directory: %v", err)
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			if inner, _ := os.ReadDir(path); len(inner) == 0 && path != dir {
				socks = append(socks, rel+"/")
			}
			return nil
		}
		socks = append(socks, rel)
		return nil
	})
	return socks
}

// A plugin socket directory beside the socket that the manager may not
// trust fails the start in plain words (no Go stack trace), leaves what is
// there as it was, and no process behind (newJob's clean-up checks).
func TestPluginSocketDirRefused(t *testing.T) {
	tests := []struct {
		name    string
		make    func(t *testing.T, j *job, path string)
		wantErr string
	}{
		{"symbolic link", func(t *testing.T, j *job, path string) {
			if err := os.Mkdir(j.path("elsewhere"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(j.path("elsewhere"), path); err != nil {
				t.Fatal(err)
			}
		}, "it is a symbolic link (to "},
		{"mode 0755", func(t *testing.T, j *job, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "its mode is 0755: group or others may use it; make it 0700"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJob(t)
			path := j.path(".zdsock.plugins")
			tt.make(t, j, path)
			before, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			conf := j.write("job.hcl", `runner {
  program = ["sleep", "1000"]
}
transcript "file" {
  path = "out.log"
}
`)
			r := j.run("-C", conf, "start")
			want := "Error: refusing the plugin socket directory " + path + ": " + tt.wantErr
			if r.code != 1 || !strings.Contains(r.err, want) || strings.Contains(r.err+r.out, "goroutine ") {
				t.Errorf("start: exit %d, stdout %q, stderr %q; want exit 1 and %q", r.code, r.out, r.err, want)
			}
			if after, err := os.Lstat(path); err != nil || after.Mode() != before.Mode() {
				t.Errorf("the refused %s changed: %v -> %v (%v)", path, before.Mode(), after.Mode(), err)
			}
		})
	}
}
