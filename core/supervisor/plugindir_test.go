package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The plugin socket directory is beside the control socket when
// go-plugin's plugin-dirNNN/pluginNNN below it fit in a socket address
// (107 bytes), in the temporary directory otherwise, under a name of the
// user and the socket; with neither fitting, it is an error that says so.
func TestPluginDirPath(t *testing.T) {
	// pluginSocketRoom is 38: beside a socket in a directory of n bytes
	// the directory is n+len("/.zdsock.plugins") = n+16 bytes, which
	// fits up to n = 107-38-16 = 53.
	fits := "/" + strings.Repeat("d", 52)
	tests := []struct {
		name, socket, tmp string
		want              string // "" for an error
		wantErr           string
	}{
		{"beside", "/run/job/zdsock", "/tmp", "/run/job/.zdsock.plugins", ""},
		{"beside, the longest that fits", fits + "/zdsock", "/tmp", fits + "/.zdsock.plugins", ""},
		{"too long beside: in tmp", fits + "d/zdsock", "/tmp", "/tmp/zdaemon-1000-5e1a9f685a59f6cd" /* FNV-1a 64 of the socket path */, ""},
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

// A plugin socket directory that is there already is taken only when it
// is a directory of this user, not a symbolic link, with no permission
// for group or others; one that is not there is created with mode 0700.
func TestMakePluginDir(t *testing.T) {
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
			target := filepath.Join(filepath.Dir(p), "elsewhere")
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
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ".zdsock.plugins")
			if tt.make != nil {
				tt.make(t, path)
			}
			err := makePluginDir(path, euid)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("makePluginDir: %v; want an error naming %s with %q", err, path, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("makePluginDir: %v", err)
			}
			fi, err := os.Lstat(path)
			if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
				t.Fatalf("after makePluginDir: %v, %v; want a directory with mode 0700", fi.Mode(), err)
			}
		})
	}
}

// openPluginDir finds the directory by the rule and makes it; clean
// empties it of a dead manager's leftovers without following a symbolic
// link out of it; remove removes it.
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
	if want := filepath.Join(base, "."+filepath.Base(sock)+".plugins"); d.path != want {
		t.Fatalf("plugin socket directory %s, want %s", d.path, want)
	}
	leftovers := []struct {
		name string
		make func(p string) error
	}{
		{"plugin-dir123/plugin456", func(p string) error {
			if err := os.Mkdir(filepath.Dir(p), 0o700); err != nil {
				return err
			}
			return os.WriteFile(p, nil, 0o600)
		}},
		{"plugin-dir789", func(p string) error { return os.Mkdir(p, 0o700) }},
		{"link-out", func(p string) error { return os.Symlink(outside, p) }},
		{"stray-file", func(p string) error { return os.WriteFile(p, nil, 0o600) }},
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
		t.Errorf("after clean the directory holds %v", entries)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("clean followed the symbolic link out of the directory: %v", err)
	}
	if err := d.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(d.path); !os.IsNotExist(err) {
		t.Errorf("after remove: %v; want the directory gone", err)
	}
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
	if dir, base := filepath.Split(d.path); filepath.Clean(dir) != tmp || !strings.HasPrefix(base, "zdaemon-") {
		t.Errorf("plugin socket directory %s, want one named zdaemon-* in %s", d.path, tmp)
	}
	if err := d.remove(); err != nil {
		t.Fatal(err)
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
