package supervisor

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The plugin socket directory is beside the control socket when
// go-plugin's plugin-dirNNN/pluginNNN below it fit in a socket address
// (107 bytes), in the temporary directory otherwise, under a name of the
// user and the socket; with neither fitting, it is an error that says so.
func TestPluginDirPath(t *testing.T) {
	// pluginSocketRoom is 46: beside a socket in a directory of n bytes
	// the directory is n+len("/.zdsock.plugins") = n+16 bytes, which
	// fits up to n = 107-46-16 = 45.
	fits := "/" + strings.Repeat("d", 44)
	tests := []struct {
		name, socket, tmp string
		want              string // "" for an error
		wantErr           string
	}{
		{"beside", "/run/job/zdsock", "/tmp", "/run/job/.zdsock.plugins", ""},
		{"beside, the longest that fits", fits + "/zdsock", "/tmp", fits + "/.zdsock.plugins", ""},
		{"too long beside: in tmp", fits + "d/zdsock", "/tmp", "/tmp/zdaemon-1000-57740dfe65e57fcd" /* FNV-1a 64 of the socket path */, ""},
		{"too long everywhere", fits + "d/zdsock", "/" + strings.Repeat("t", 60), "",
			"plugin sockets fit neither beside the control socket " + fits + "d/zdsock nor in the temporary directory /" + strings.Repeat("t", 60)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pluginDirPath(tt.socket, tt.tmp, 1000)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("pluginDirPath(%q, %q) = %q, %v; want an error with %q", tt.socket, tt.tmp, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("pluginDirPath(%q, %q) = %q, %v; want %q", tt.socket, tt.tmp, got, err, tt.want)
			}
			if n := len(got) + pluginSocketRoom; n > maxSocketPath {
				t.Errorf("a plugin socket below %s would be %d bytes", got, n)
			}
		})
	}
}

// A plugin socket directory that is there already, the job's or the
// manager's own in it (an upgrade's, or a dead manager's of the same
// pid), is taken only when it is a directory of this user, not a symbolic
// link, with no permission for group or others; one that is not there is
// created with mode 0700, whatever the umask.
func TestMakeOwnDir(t *testing.T) {
	euid := os.Geteuid()
	tests := []struct {
		name string
		// make puts what is at path; nil leaves it absent.
		make    func(t *testing.T, path string)
		wantErr string // "" when the directory is taken
	}{
		{"absent: created", nil, ""},
		{"ours, 0700", func(t *testing.T, p string) { mkdir(t, p, 0o700) }, ""},
		{"mode 0755", func(t *testing.T, p string) { mkdir(t, p, 0o755) }, "its mode is 0755: group or others may use it; make it 0700"},
		{"mode 0710", func(t *testing.T, p string) { mkdir(t, p, 0o710) }, "its mode is 0710"},
		{"symbolic link to our directory", func(t *testing.T, p string) {
			target := p + "-elsewhere"
			mkdir(t, target, 0o700)
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		}, "it is a symbolic link (to " /* the target follows */},
		{"a regular file", func(t *testing.T, p string) {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "it is not a directory"},
		{"another user's", func(t *testing.T, p string) {
			if euid != 0 {
				t.Skip("SKIPPED: not root, so no directory of another owner can be made; run as root to cover it")
			}
			mkdir(t, p, 0o700)
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "it is owned by uid 65534, and this manager runs as uid 0"},
	}
	for _, where := range []string{"the job's directory", "the manager's directory"} {
		for _, tt := range tests {
			t.Run(where+"/"+tt.name, func(t *testing.T) {
				root := filepath.Join(t.TempDir(), ".zdsock.plugins")
				own := filepath.Join(root, "4711")
				at := root
				if where == "the manager's directory" {
					mkdir(t, root, 0o700)
					at = own
				}
				if tt.make != nil {
					tt.make(t, at)
				}
				old := syscall.Umask(0o077 | 0o200) // not even the owner may write
				err := makeOwnDir(root, "4711", euid)
				syscall.Umask(old)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), at) {
						t.Fatalf("makeOwnDir: %v; want an error naming %s with %q", err, at, tt.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("makeOwnDir: %v", err)
				}
				for _, p := range []string{root, own} {
					if fi, err := os.Lstat(p); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
						t.Errorf("after makeOwnDir %s: %v, %v; want a directory with mode 0700", p, fi.Mode(), err)
					}
				}
			})
		}
	}
}

// openPluginDir makes this manager's directory, named by its pid, in the
// job's directory; clean empties it and removes from the job's directory
// what no running manager uses, without following a symbolic link out of
// it; remove removes it, and the job's directory only when no other
// manager has its own in it.
func TestPluginDirCleanRemove(t *testing.T) {
	sock := shortSocket(t) // a t.TempDir() may be too long for go-plugin's sockets
	base := filepath.Dir(sock)
	outside := filepath.Join(base, "outside")
	mkdir(t, outside, 0o700)
	keep := filepath.Join(outside, "keep")
	if err := os.WriteFile(keep, []byte("not the manager's"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := openPluginDir(sock)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(base, "."+filepath.Base(sock)+".plugins")
	if want := filepath.Join(root, strconv.Itoa(os.Getpid())); d.path != want || d.root != root {
		t.Fatalf("plugin socket directory %s in %s, want %s in %s", d.path, d.root, want, root)
	}
	// A process that has exited: its pid is free (and not taken again
	// within this test).
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	live := strconv.Itoa(os.Getppid())
	leftovers := []struct {
		name string
		make func(p string) error
		kept bool
	}{
		{"plugin-dir123/plugin456", mkSocketFile, false},
		{"plugin-dir789", func(p string) error { return os.Mkdir(p, 0o700) }, false},
		{"link-out", func(p string) error { return os.Symlink(outside, p) }, false},
		{"stray-file", func(p string) error { return os.WriteFile(p, nil, 0o600) }, false},
		{"../" + strconv.Itoa(dead.Process.Pid) + "/plugin-dir1/plugin2", mkSocketFile, false},
		{"../plugin-dir5/plugin6", mkSocketFile, false},                       // an older manager's, in the job's directory
		{"../007", func(p string) error { return os.Mkdir(p, 0o700) }, false}, // not how a pid is written
		{"../" + live + "/plugin-dir1/plugin2", mkSocketFile, true},
	}
	for _, l := range leftovers {
		if err := l.make(filepath.Join(d.path, l.name)); err != nil {
			t.Fatalf("leftover %s: %v", l.name, err)
		}
	}
	if err := d.clean(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(d.path); len(entries) != 0 {
		t.Errorf("after clean this manager's directory holds %v", entries)
	}
	for _, l := range leftovers {
		_, err := os.Lstat(filepath.Join(d.path, l.name))
		if l.kept && err != nil {
			t.Errorf("clean removed %s, a running manager's: %v", l.name, err)
		}
		if !l.kept && err == nil {
			t.Errorf("clean left %s", l.name)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("clean followed the symbolic link out of the directory: %v", err)
	}
	// The other manager's directory keeps the job's.
	if err := d.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(d.path); !os.IsNotExist(err) {
		t.Errorf("after remove: %v; want this manager's directory gone", err)
	}
	if _, err := os.Lstat(filepath.Join(root, live, "plugin-dir1", "plugin2")); err != nil {
		t.Errorf("remove took the other manager's socket: %v", err)
	}
	// The last one out removes the job's directory.
	if err := os.RemoveAll(filepath.Join(root, live)); err != nil {
		t.Fatal(err)
	}
	if d, err = openPluginDir(sock); err != nil {
		t.Fatal(err)
	}
	if err := d.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(root); !os.IsNotExist(err) {
		t.Errorf("after the last remove: %v; want the job's directory gone", err)
	}
}

// mkSocketFile stands for a plugin's socket at p, making its directories.
func mkSocketFile(p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return os.WriteFile(p, nil, 0o600)
}

// A socket path too long for the directory beside it takes it in
// $TMPDIR, as the user's.
func TestOpenPluginDirFallback(t *testing.T) {
	tmp := filepath.Dir(shortSocket(t))
	t.Setenv("TMPDIR", tmp)
	sock := filepath.Join("/nonexistent", strings.Repeat("s", 60), "zdsock")
	d, err := openPluginDir(sock)
	if err != nil {
		t.Fatal(err)
	}
	if dir, base := filepath.Split(d.root); filepath.Clean(dir) != tmp || !strings.HasPrefix(base, "zdaemon-") {
		t.Errorf("job's plugin socket directory %s, want one named zdaemon-* in %s", d.root, tmp)
	}
	if d.path != filepath.Join(d.root, strconv.Itoa(os.Getpid())) {
		t.Errorf("plugin socket directory %s, want this manager's pid in %s", d.path, d.root)
	}
	if err := d.remove(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "zdaemon-*")); len(left) > 0 {
		t.Errorf("left in TMPDIR: %v", left)
	}
}

func mkdir(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}
