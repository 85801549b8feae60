//go:build unix

package pluginhost

import "testing"

// A re-attached plugin's socket directory is removed when it ends only
// when it is one go-plugin made in the host's SocketDir (plugin-dirNNN)
// or in the job's directory above it (an older manager's); nothing else
// is (a path outside, a directory of another name, SocketDir itself, or
// another manager's subdirectory).
func TestOwnSocketDir(t *testing.T) {
	const ours = "/run/job/.zdsock.plugins/4711"
	tests := []struct {
		name, socketDir, addr, want string
	}{
		{"go-plugin's in ours", ours, ours + "/plugin-dir123/plugin456", ours + "/plugin-dir123"},
		{"ours with a trailing slash", ours + "/", ours + "/plugin-dir1/plugin2", ours + "/plugin-dir1"},
		{"in the job's directory (an older manager's)", ours, "/run/job/.zdsock.plugins/plugin-dir1/plugin2", "/run/job/.zdsock.plugins/plugin-dir1"},
		{"in another manager's", ours, "/run/job/.zdsock.plugins/4712/plugin-dir1/plugin2", ""},
		{"in TMPDIR (an older manager's)", ours, "/tmp/plugin-dir123/plugin456", ""},
		{"deeper in ours", ours, ours + "/x/plugin-dir1/plugin2", ""},
		{"another name in ours", ours, ours + "/other/plugin2", ""},
		{"the directory itself", ours, ours + "/plugin2", ""},
		{"escaping with ..", ours, ours + "/../../plugin-dir1/plugin2", ""},
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
