//go:build linux

package handover

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Inherit makes the record and every file handed over survive execve:
// it clears close-on-exec on them and writes the record into a memory
// file, inherited as well, whose descriptor it returns (the new
// manager's "--upgraded FD"). undo sets close-on-exec again and closes
// the memory file, for when execve failed. Every other descriptor stays
// close-on-exec.
func (o *Out) Inherit() (fd int, undo func(), err error) {
	b, err := o.Marshal()
	if err != nil {
		return -1, nil, fmt.Errorf("encode the state record: %w", err)
	}
	mfd, err := unix.MemfdCreate("zdaemon-handover", 0) // no MFD_CLOEXEC: inherited
	if err != nil {
		return -1, nil, fmt.Errorf("memfd_create: %w", err)
	}
	mf := os.NewFile(uintptr(mfd), "handover-record")
	if _, err := mf.Write(b); err != nil {
		mf.Close()
		return -1, nil, fmt.Errorf("write the state record: %w", err)
	}
	var cleared []int
	undo = func() {
		for _, fd := range cleared {
			unix.CloseOnExec(fd)
		}
		mf.Close()
	}
	for name, fd := range o.rec.Files {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			undo()
			return -1, nil, fmt.Errorf("inherit the %s (descriptor %d): %w", name, fd, err)
		}
		cleared = append(cleared, fd)
	}
	return int(mf.Fd()), undo, nil
}

// Read takes over the record on descriptor fd and the descriptors it
// names, marking them close-on-exec (nothing of it leaks into the
// program).
func Read(fd int) (*In, error) {
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		return nil, fmt.Errorf("%w on descriptor %d: %v", ErrNoRecord, fd, err)
	}
	unix.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), "handover-record")
	defer f.Close()
	rec, err := ParseRecord(io.NewSectionReader(f, 0, maxRecord))
	if err != nil {
		return nil, err
	}
	in := &In{rec: *rec, files: map[string]int{}}
	for name, n := range rec.Files {
		if _, err := unix.FcntlInt(uintptr(n), unix.F_GETFD, 0); err != nil {
			in.Close()
			return nil, fmt.Errorf("the %s (descriptor %d) was not inherited: %v", name, n, err)
		}
		unix.CloseOnExec(n)
		in.files[name] = n
	}
	return in, nil
}

func setNonblock(fd int) error { return unix.SetNonblock(fd, true) }
