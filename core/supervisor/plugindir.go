package supervisor

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/zdaemon/zdaemon/core/child"
)

// A job's plugin sockets (go-plugin's gRPC unix sockets, one per plugin
// process) live in a directory of the job's: beside the control socket,
// whose directory the job already trusts, as ".<socket name>.plugins".
// Each manager has its own subdirectory in it, named by its pid (which an
// upgrade keeps); go-plugin makes a plugin-dirNNN directory in that for
// each plugin it starts, the plugin its socket pluginNNN in that.
//
// Two managers of a job run at once for a moment: stop returns once the
// old one has let go of the control socket, while it still drains its
// sink and stops its plugins, and a start may follow at once. So no
// manager removes or empties what another one uses: an exiting manager
// removes its own subdirectory and then the job's directory only if that
// is empty (rmdir, which fails on a directory another manager has made
// its own in), and a fresh manager removes the subdirectories of managers
// that are no longer running (killed with SIGKILL) and anything else but
// the live managers' subdirectories; an upgraded one keeps its own with
// the running sink's socket.
//
// When go-plugin's paths below it would not fit in a socket address, the
// job's directory is $TMPDIR/zdaemon-<euid>-<hash of the socket's path>,
// created 0700; in a shared $TMPDIR another user could have made it
// first, so an existing one is taken only when it is a directory (not a
// symbolic link) of this manager's user that no one else may use. The
// same goes for an existing directory beside the socket, and for a
// manager's subdirectory, which is made in the directory it opened and
// checked (mkdirat), never through a path that could have been swapped.

// maxSocketPath is the longest path a unix socket address holds: sun_path
// is 108 bytes with the terminating NUL.
const maxSocketPath = 107

// pluginSocketRoom is what goes below the job's directory: the manager's
// subdirectory "/PID", then "/plugin-dirNNN" (os.MkdirTemp)
// and "/pluginNNN" (os.CreateTemp), each random suffix up to 10 digits.
const pluginSocketRoom = len("/") + maxPidDigits + len("/plugin-dir") + 10 + len("/plugin") + 10

// maxPidDigits is the widest pid: Linux's pid_max is at most 2^22.
const maxPidDigits = len("4194304")

// pluginDirPath is the job's directory for the plugin sockets of the job
// whose control socket is socket (absolute): beside it when they fit
// there, else in tmp (os.TempDir) under a name of euid and socket.
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
	return "", fmt.Errorf("plugin sockets fit neither beside the control socket %s nor in the temporary directory %s (a socket path holds %d bytes, and the manager and go-plugin add up to %d below the directory): use a shorter socket-name or TMPDIR",
		socket, tmp, maxSocketPath, pluginSocketRoom)
}

// pluginDir is a manager's plugin socket directory, made or checked by
// openPluginDir: path, the subdirectory of its pid in the job's
// directory root.
type pluginDir struct {
	root, path string
}

// rootGoneTries bounds how often openPluginDir makes the job's directory
// again when an exiting manager removed it (empty) before this one's
// subdirectory was in it; each time means one more manager that exited
// just then.
const rootGoneTries = 10

// errRootGone is the job's directory removed before the subdirectory
// could be made in it.
var errRootGone = errors.New("the job's plugin socket directory was removed")

// openPluginDir makes this manager's plugin socket directory for the job
// whose control socket is socket, or takes the one there (an upgraded
// manager's, or a dead one's of the same pid) if it may (see
// trustPluginDir). Call it once the manager owns the control socket.
func openPluginDir(socket string) (*pluginDir, error) {
	abs, err := filepath.Abs(socket)
	if err != nil {
		return nil, fmt.Errorf("plugin socket directory: %w", err)
	}
	euid := os.Geteuid()
	root, err := pluginDirPath(abs, os.TempDir(), euid)
	if err != nil {
		return nil, err
	}
	name := strconv.Itoa(os.Getpid())
	for range rootGoneTries {
		err = makeOwnDir(root, name, euid)
		if !errors.Is(err, errRootGone) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return &pluginDir{root: root, path: filepath.Join(root, name)}, nil
}

// makeOwnDir makes the job's directory root if it is not there, then
// the subdirectory name in it (or takes the one there), both checked by
// trustPluginDir's rule; root is checked through the descriptor the
// subdirectory is made in: errRootGone when root was removed in between.
func makeOwnDir(root, name string, euid int) error {
	switch err := os.Mkdir(root, 0o700); {
	case err == nil:
		// 0700 whatever the umask: managers make their directories in it.
		if err := os.Chmod(root, 0o700); err != nil {
			return fmt.Errorf("create the plugin socket directory: %w", err)
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("create the plugin socket directory: %w", err)
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return errRootGone
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		// A symbolic link or no directory: say which. One that was
		// replaced by a directory meanwhile is tried again.
		if terr := trustPluginDir(root, euid); terr != nil {
			return terr
		}
		return errRootGone
	case err != nil:
		return fmt.Errorf("open the plugin socket directory %s: %w", root, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("check the plugin socket directory %s: %w", root, err)
	}
	if err := trustStat(root, &st, euid, ""); err != nil {
		return err
	}
	own := filepath.Join(root, name)
	switch err := unix.Mkdirat(fd, name, 0o700); {
	case errors.Is(err, unix.ENOENT): // root removed (it was empty)
		return errRootGone
	case errors.Is(err, unix.EEXIST):
		// In root, which is this user's and no one else's: by its path.
		return trustPluginDir(own, euid)
	case err != nil:
		return fmt.Errorf("create the plugin socket directory %s: %w", own, err)
	}
	// 0700 whatever the umask: go-plugin makes directories in it.
	if err := unix.Fchmodat(fd, name, 0o700, 0); err != nil {
		return fmt.Errorf("create the plugin socket directory %s: %w", own, err)
	}
	return nil
}

// trustPluginDir says why the existing directory path may not hold the
// plugin sockets of a manager running as euid, or nil when it may: it is
// a directory, not a symbolic link, euid's, with no permission for group
// or others.
func trustPluginDir(path string, euid int) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return fmt.Errorf("check the plugin socket directory: %w", &fs.PathError{Op: "lstat", Path: path, Err: err})
	}
	target := ""
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		target, _ = os.Readlink(path)
	}
	return trustStat(path, &st, euid, target)
}

// trustStat is trustPluginDir's verdict on path, whose status is st (not
// followed: target is where it points when it is a symbolic link).
func trustStat(path string, st *unix.Stat_t, euid int, target string) error {
	refuse := func(why, fix string) error {
		return fmt.Errorf("refusing the plugin socket directory %s: %s; %s", path, why, fix)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		return refuse(fmt.Sprintf("it is a symbolic link (to %s), not a directory", target), "remove it")
	case unix.S_IFDIR:
	default:
		return refuse("it is not a directory", "remove it")
	}
	if int(st.Uid) != euid {
		return refuse(fmt.Sprintf("it is owned by uid %d, and this manager runs as uid %d", st.Uid, euid), "remove it, or run the job as its owner")
	}
	if perm := st.Mode & 0o7777; perm&0o077 != 0 {
		return refuse(fmt.Sprintf("its mode is %04o: group or others may use it", perm), "make it 0700 (chmod 0700), or remove it")
	}
	return nil
}

// clean removes what this manager's directory holds (a dead manager's of
// the same pid left it), and in the job's directory what no running
// manager uses: the subdirectories of managers that are gone (killed with
// SIGKILL), the plugin-dirNNN of managers from before the subdirectories,
// anything else put there. A fresh manager calls it; an upgraded one
// keeps its sink's socket. os.RemoveAll removes a symbolic link, never
// what it points to.
func (d *pluginDir) clean() error {
	var errs []error
	removeIn := func(dir string, keep func(name string) bool) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			return
		}
		for _, e := range entries {
			if keep(e.Name()) {
				continue
			}
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	removeIn(d.path, func(string) bool { return false })
	own := filepath.Base(d.path)
	removeIn(d.root, func(name string) bool { return name == own || managerRuns(name) })
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clean the plugin socket directory: %w", err)
	}
	return nil
}

// managerRuns says whether name, an entry of the job's directory, is the
// subdirectory of a process that runs (a manager, unless its pid was
// taken again since it died: then the entry stays until that one ends).
func managerRuns(name string) bool {
	pid, err := strconv.Atoi(name)
	if err != nil || pid <= 0 || strconv.Itoa(pid) != name {
		return false
	}
	return child.Runs(pid)
}

// remove removes this manager's directory and what is left in it, then
// the job's directory unless another manager has its own in it; call it
// when none of this manager's plugins runs any more.
func (d *pluginDir) remove() error {
	if err := os.RemoveAll(d.path); err != nil {
		return fmt.Errorf("remove the plugin socket directory: %w", err)
	}
	err := unix.Rmdir(d.root)
	if err == nil || errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return fmt.Errorf("remove the plugin socket directory: %w", &fs.PathError{Op: "rmdir", Path: d.root, Err: err})
}
