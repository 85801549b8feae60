package supervisor

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// A job's plugin sockets (go-plugin's gRPC unix sockets, one per plugin
// process) live in a directory of the job's manager: beside the control
// socket, whose directory the job already trusts, as
// ".<socket name>.plugins". go-plugin makes a plugin-dirNNN directory in
// it for each plugin it starts, the plugin its socket pluginNNN in that.
// A fresh manager empties it once it owns the control socket (what a
// predecessor killed with SIGKILL left: only one manager owns a control
// socket), an upgraded one keeps it and the running sink's socket, and
// the manager removes it when it exits.
//
// When go-plugin's paths below it would not fit in a socket address, the
// directory is $TMPDIR/zdaemon-<euid>-<hash of the socket's path>,
// created 0700; in a shared $TMPDIR another user could have made it
// first, so an existing one is taken only when it is a directory (not a
// symbolic link) of this manager's user that no one else may use. The
// same goes for an existing directory beside the socket.

// maxSocketPath is the longest path a unix socket address holds: sun_path
// is 108 bytes with the terminating NUL.
const maxSocketPath = 107

// pluginSocketRoom is what go-plugin adds below the directory:
// "/plugin-dirNNN" (os.MkdirTemp) and "/pluginNNN" (os.CreateTemp), each
// random suffix up to 10 digits.
const pluginSocketRoom = len("/plugin-dir") + 10 + len("/plugin") + 10

// pluginDirPath is where the plugin sockets of the job whose control
// socket is socket (absolute) live: beside it when they fit there, else
// in tmp (os.TempDir) under a name of euid and socket.
func pluginDirPath(socket, tmp string, euid int) (string, error) {
	dir := filepath.Join(filepath.Dir(socket), "."+filepath.Base(socket)+".plugins")
	if len(dir)+pluginSocketRoom <= maxSocketPath {
		return dir, nil
	}
	// A name, not a secret (the directory is trusted by its owner and
	// mode): FNV-1a keeps crypto out of zdrun.
	sum := fnv.New64a()
	sum.Write([]byte(socket))
	alt := filepath.Join(tmp, fmt.Sprintf("zdaemon-%d-%016x", euid, sum.Sum64()))
	if len(alt)+pluginSocketRoom <= maxSocketPath {
		return alt, nil
	}
	return "", fmt.Errorf("plugin sockets fit neither beside the control socket %s nor in the temporary directory %s (a socket path holds %d bytes, and go-plugin adds up to %d below the directory): use a shorter socket-name or TMPDIR",
		socket, tmp, maxSocketPath, pluginSocketRoom)
}

// pluginDir is a job's plugin socket directory, made or checked by
// openPluginDir.
type pluginDir struct {
	path string
}

// openPluginDir makes the plugin socket directory of the job whose
// control socket is socket, or takes the one there if it may (see
// trustPluginDir). Call it once the manager owns the control socket.
func openPluginDir(socket string) (*pluginDir, error) {
	abs, err := filepath.Abs(socket)
	if err != nil {
		return nil, fmt.Errorf("plugin socket directory: %w", err)
	}
	euid := os.Geteuid()
	path, err := pluginDirPath(abs, os.TempDir(), euid)
	if err != nil {
		return nil, err
	}
	if err := makePluginDir(path, euid); err != nil {
		return nil, err
	}
	return &pluginDir{path: path}, nil
}

// makePluginDir creates the directory path with mode 0700, or checks the
// one there (trustPluginDir).
func makePluginDir(path string, euid int) error {
	err := os.Mkdir(path, 0o700)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		return trustPluginDir(path, euid)
	}
	return fmt.Errorf("create the plugin socket directory: %w", err)
}

// trustPluginDir says why the existing directory path may not hold the
// plugin sockets of a manager running as euid, or nil when it may: it is
// a directory, not a symbolic link, euid's, with no permission for group
// or others.
func trustPluginDir(path string, euid int) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("check the plugin socket directory: %w", err)
	}
	refuse := func(why, fix string) error {
		return fmt.Errorf("refusing the plugin socket directory %s: %s; %s", path, why, fix)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, _ := os.Readlink(path)
		return refuse(fmt.Sprintf("it is a symbolic link (to %s), not a directory", target), "remove it")
	case !fi.IsDir():
		return refuse("it is not a directory", "remove it")
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != euid {
		return refuse(fmt.Sprintf("it is owned by uid %d, and this manager runs as uid %d", st.Uid, euid), "remove it, or run the job as its owner")
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return refuse(fmt.Sprintf("its mode is %04o: group or others may use it", perm), "make it 0700 (chmod 0700), or remove it")
	}
	return nil
}

// clean removes what the directory holds: the sockets (and their
// plugin-dirNNN) of plugins of a manager that did not get to remove
// them. os.RemoveAll removes a symbolic link, never what it points to.
func (d *pluginDir) clean() error {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return fmt.Errorf("clean the plugin socket directory: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(d.path, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clean the plugin socket directory: %w", err)
	}
	return nil
}

// remove removes the directory and what is left in it; call it when no
// plugin runs any more.
func (d *pluginDir) remove() error {
	if err := os.RemoveAll(d.path); err != nil {
		return fmt.Errorf("remove the plugin socket directory: %w", err)
	}
	return nil
}
