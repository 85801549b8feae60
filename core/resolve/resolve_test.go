package resolve_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zdaemon/zdaemon/core/resolve"
)

func TestProgram(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "prog")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte(""), 0o644)
	tests := []struct {
		word, path, want, err string
	}{
		{"prog", dir, exe, ""},
		{"prog", "/nonexistent:" + dir, exe, ""},
		{"nosuch", "/a:/b", "", "can't find program 'nosuch' on PATH ['/a', '/b']"},
		{"plain", dir, "", "can't find program 'plain' on PATH ['" + dir + "']"},
		{plain, "", "", "no permission to run program '" + plain + "'"},
		{dir + "/missing", "", "", "can't stat program '" + dir + "/missing'"},
		{"sh", "", "/bin/sh", ""},
	}
	for _, tt := range tests {
		got, err := resolve.Program(tt.word, tt.path)
		if tt.err != "" {
			if err == nil || resolve.Message(err) != tt.err {
				t.Errorf("Program(%q, %q) error %v, want %q", tt.word, tt.path, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Program(%q, %q) = %q, %v; want %q", tt.word, tt.path, got, err, tt.want)
		}
	}
}
