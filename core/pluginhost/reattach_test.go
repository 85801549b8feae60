//go:build unix

package pluginhost

import "testing"

// A re-attached plugin's socket directory is removed when it ends only
// when it is one go-plugin made in the host's SocketDir (plugin-dirNNN);
// nothing else is (a path outside, a directory of another name, or
// SocketDir itself).
func TestOwnSocketDir(t *testing.T) {
	tests := []struct {
		name, socketDir, addr, want string
	}{
		{"go-plugin's in ours", "/run/job/.zdsock.plugins", "/run/job/.zdsock.plugins/plugin-dir123/plugin456", "/run/job/.zdsock.plugins/plugin-dir123"},
		{"ours with a trailing slash", "/run/job/.zdsock.plugins/", "/run/job/.zdsock.plugins/plugin-dir1/plugin2", "/run/job/.zdsock.plugins/plugin-dir1"},
		{"in TMPDIR (an older manager's)", "/run/job/.zdsock.plugins", "/tmp/plugin-dir123/plugin456", ""},
		{"deeper in ours", "/run/job/.zdsock.plugins", "/run/job/.zdsock.plugins/x/plugin-dir1/plugin2", ""},
		{"another name in ours", "/run/job/.zdsock.plugins", "/run/job/.zdsock.plugins/other/plugin2", ""},
		{"the directory itself", "/run/job/.zdsock.plugins", "/run/job/.zdsock.plugins/plugin2", ""},
		{"escaping with ..", "/run/job/.zdsock.plugins", "/run/job/.zdsock.plugins/../plugin-dir1/plugin2", ""},
		{"no SocketDir", "", "/tmp/plugin-dir123/plugin456", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Host{SocketDir: tt.socketDir}
			if got := h.ownSocketDir(tt.addr); got != tt.want {
				t.Errorf("ownSocketDir(%q) with SocketDir %q = %q, want %q", tt.addr, tt.socketDir, got, tt.want)
			}
		})
	}
}
