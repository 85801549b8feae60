package command

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds the symbolic links followed while walking a path, as
// the kernel's own limit (ELOOP) does.
const maxSymlinks = 40

// createDir creates the last component of dir (one missing level) and,
// when cred is set (root starting a job for another user), gives the new
// directory to that user. It is race-free against other users who can
// write somewhere along the path: the parent is reached component by
// component with openat(O_NOFOLLOW), following only symbolic links nobody
// but root (or the caller) can change; the new directory is created with
// mkdirat in that parent and changed owner through its own descriptor.
// Only a directory this call created is ever changed owner: whatever is
// already at dir (a file, a symbolic link) is an error and is left alone.
func createDir(dir string, cred *syscall.Credential) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("cannot create directory %s: %w", dir, err)
	}
	parent, name := filepath.Split(abs)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("cannot create directory %s: it has no name of its own", abs)
	}
	pfd, err := openDirTrusted(parent)
	if err != nil {
		return fmt.Errorf("cannot create directory %s: %w", abs, err)
	}
	defer unix.Close(pfd)
	if err := unix.Mkdirat(pfd, name, 0o777); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return inTheWay(pfd, name, abs)
		}
		return fmt.Errorf("cannot create directory %s: %w", abs, osErr(err))
	}
	if cred == nil {
		return nil
	}
	fd, err := unix.Openat(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot open directory %s just created (replaced meanwhile?); its owner was left alone: %w", abs, osErr(err))
	}
	defer unix.Close(fd)
	// What we opened must be the empty directory we made: someone who can
	// write to the parent could have renamed it and put another in place.
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("inspect directory %s: %w", abs, err)
	}
	if st.Uid != uint32(os.Geteuid()) || st.Nlink != 2 {
		return fmt.Errorf("directory %s was replaced while zdaemon created it; its owner was left alone", abs)
	}
	if err := unix.Fchown(fd, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("cannot give directory %s to uid %d: %w", abs, cred.Uid, osErr(err))
	}
	return nil
}

// inTheWay explains what is at name, which mkdirat found existing. A real
// directory (made meanwhile, e.g. by a concurrent start) is fine and is
// left as it is; anything else is an error.
func inTheWay(pfd int, name, abs string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("cannot create directory %s: %w", abs, osErr(err))
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return nil
	case unix.S_IFLNK:
		return fmt.Errorf("cannot create directory %s: it is a symbolic link to a missing directory; it was left alone", abs)
	default:
		return fmt.Errorf("cannot create directory %s: a file that is not a directory is in the way; it was left alone", abs)
	}
}

// openDirTrusted opens the directory at the absolute path dir for use as
// an *at base (O_PATH), walking it from "/" one component at a time with
// O_NOFOLLOW. A symbolic link on the way is followed only when it is
// owned by root or the caller and sits in a directory owned by root or
// the caller that others cannot write to (or that is sticky): a link
// anyone else could plant or change is refused.
func openDirTrusted(dir string) (int, error) {
	const flags = unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Open("/", flags, 0)
	if err != nil {
		return -1, fmt.Errorf("open /: %w", err)
	}
	todo := splitPath(dir)
	shown := "/"
	links := 0
	for len(todo) > 0 {
		comp := todo[0]
		todo = todo[1:]
		next, err := unix.Openat(fd, comp, flags, 0)
		if err == nil {
			unix.Close(fd)
			fd = next
			shown = filepath.Join(shown, comp)
			continue
		}
		at := filepath.Join(shown, comp)
		var st unix.Stat_t
		if serr := unix.Fstatat(fd, comp, &st, unix.AT_SYMLINK_NOFOLLOW); serr != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("%s: %w", at, osErr(serr))
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			unix.Close(fd)
			return -1, fmt.Errorf("%s is not a directory", at)
		}
		if !trustedLink(fd, &st) {
			unix.Close(fd)
			return -1, fmt.Errorf("%s is a symbolic link that another user could change; zdaemon does not follow it", at)
		}
		links++
		if links > maxSymlinks {
			unix.Close(fd)
			return -1, fmt.Errorf("%s: too many levels of symbolic links", at)
		}
		target, err := readlinkat(fd, comp)
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("%s: %w", at, err)
		}
		todo = append(splitPath(target), todo...)
		if filepath.IsAbs(target) {
			unix.Close(fd)
			if fd, err = unix.Open("/", flags, 0); err != nil {
				return -1, fmt.Errorf("open /: %w", err)
			}
			shown = "/"
		}
	}
	return fd, nil
}

// trustedLink says whether the symbolic link st, in the directory dirfd,
// can be changed by nobody but root and the caller.
func trustedLink(dirfd int, st *unix.Stat_t) bool {
	me := uint32(os.Geteuid())
	var dst unix.Stat_t
	if err := unix.Fstat(dirfd, &dst); err != nil {
		return false
	}
	ours := func(uid uint32) bool { return uid == 0 || uid == me }
	return ours(st.Uid) && ours(dst.Uid) && (dst.Mode&0o022 == 0 || dst.Mode&unix.S_ISVTX != 0)
}

func readlinkat(dirfd int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", osErr(err)
	}
	return string(buf[:n]), nil
}

// splitPath is the non-empty components of p.
func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// osErr turns an errno into its plain text ("no such file or directory").
func osErr(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errors.New(errno.Error())
	}
	return err
}
