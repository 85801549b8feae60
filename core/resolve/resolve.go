// Package resolve finds a job's program the way the original zdaemon
// does: a word with a slash must exist, others are searched on PATH (or
// the original's default path), and the result must be executable. Error
// texts are the original's; the client checks a job's program with it
// before it starts a manager.
package resolve

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// Resolution errors. Their texts are the original's.
var (
	ErrNotFound   = errors.New("program not found")
	ErrPermission = errors.New("no permission to run program")
)

// DefaultPath is searched when PATH is unset or empty, as the original does.
const DefaultPath = "/bin:/usr/bin:/usr/local/bin"

// Program finds the executable for word the way the original manager does:
// a word with a slash must exist (relative ones are made absolute against
// the current directory), others are searched on pathEnv; the result must
// be executable. Error texts are the original's.
func Program(word, pathEnv string) (string, error) {
	var file string
	if strings.Contains(word, "/") {
		if _, err := os.Stat(word); err != nil {
			return "", fmt.Errorf("can't stat program %s: %w", pyrepr.Str(word), ErrNotFound)
		}
		abs, err := filepath.Abs(word)
		if err != nil {
			return "", fmt.Errorf("resolve program %q: %w", word, err)
		}
		file = abs
	} else {
		if pathEnv == "" {
			pathEnv = DefaultPath
		}
		dirs := strings.Split(pathEnv, ":")
		for _, dir := range dirs {
			cand := filepath.Join(dir, word)
			if st, err := os.Stat(cand); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				file = cand
				break
			}
		}
		if file == "" {
			quoted := make([]string, len(dirs))
			for i, d := range dirs {
				quoted[i] = pyrepr.Str(d)
			}
			return "", fmt.Errorf("can't find program %s on PATH [%s]: %w", pyrepr.Str(word), strings.Join(quoted, ", "), ErrNotFound)
		}
		if abs, err := filepath.Abs(file); err == nil {
			file = abs
		}
	}
	if err := syscall.Access(file, 1 /* X_OK */); err != nil {
		return "", fmt.Errorf("no permission to run program %s: %w", pyrepr.Str(file), ErrPermission)
	}
	return file, nil
}

// Message returns the user-facing text of a Program error (without the
// wrapped sentinel).
func Message(err error) string {
	s := err.Error()
	for _, sentinel := range []error{ErrNotFound, ErrPermission} {
		s = strings.TrimSuffix(s, ": "+sentinel.Error())
	}
	return s
}
