//go:build linux

package child

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// procInfo is what Sweep needs of a process.
type procInfo struct{ ppid, pgid int }

// readProcs reads ppid and pgid of every process from /proc. The stat
// files are read with bare open/read/close (three system calls each, not
// the ten of os.ReadFile): a stop waits for this.
func readProcs() (map[int]procInfo, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	procs := make(map[int]procInfo, len(entries))
	buf := make([]byte, 1024)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, ok := readStat(pid, buf)
		if !ok {
			continue // gone meanwhile
		}
		st, ok := parseStat(data)
		if !ok || st.zombie {
			continue
		}
		procs[pid] = procInfo{ppid: st.ppid, pgid: st.pgid}
	}
	return procs, nil
}

// statFields are the fields of /proc/PID/stat a sweep needs.
type statFields struct {
	ppid, pgid int
	zombie     bool
}

// parseStat reads "pid (comm) state ppid pgrp ..."; comm may contain
// anything.
func parseStat(data []byte) (statFields, bool) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return statFields{}, false
	}
	f := bytes.Fields(data[i+1:])
	if len(f) < 3 {
		return statFields{}, false
	}
	ppid, _ := strconv.Atoi(string(f[1]))
	pgid, _ := strconv.Atoi(string(f[2]))
	state := string(f[0])
	return statFields{ppid: ppid, pgid: pgid, zombie: state == "Z" || state == "X"}, true
}

// Runs says whether the process pid exists and has not ended: a zombie
// has, though kill(pid, 0) finds it until its parent reaps it.
func Runs(pid int) bool {
	var buf [1024]byte
	data, ok := readStat(pid, buf[:])
	if !ok {
		return false
	}
	st, ok := parseStat(data)
	return !ok || !st.zombie // unreadable: it may run
}

// readStat reads the start of /proc/<pid>/stat into buf (the fields
// wanted come within the first few hundred bytes).
func readStat(pid int, buf []byte) ([]byte, bool) {
	data, err := readSmall("/proc/"+strconv.Itoa(pid)+"/stat", buf)
	return data, err == nil
}

// readSmall reads the start of a small file into buf with bare
// open/read/close (three system calls, not the ten of os.ReadFile): a
// stop waits for this.
func readSmall(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	for errors.Is(err, unix.EINTR) {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	n, err := unix.Read(fd, buf)
	for errors.Is(err, unix.EINTR) {
		n, err = unix.Read(fd, buf)
	}
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// Sweep kills, with SIGKILL, every live descendant of root except those in
// the process groups of keep (the manager's plugins), waits until they are
// gone, and returns their pids. As a child subreaper the manager inherits
// what the program leaves behind, including children that left its process
// group with setsid, so after a stop this finds all of them.
//
// The descendants are found through the children files of root's threads
// and theirs (/proc/PID/task/TID/children), reading nothing of processes
// that are not ours; on a kernel without them, from every process's
// parent in /proc. A process killed between two reads may have forked a
// child the first read did not see, so the sweep repeats until a pass
// finds nothing. Each process is signalled through a pidfd (never a
// recycled pid), and the sweep returns only once every one of them has
// exited (or sweepWait has passed), so a caller that answers "stopped"
// afterwards tells the truth even on a machine too loaded to run the
// dying processes at once.
func Sweep(root int, keep []int) ([]int, error) {
	kept := map[int]bool{}
	for _, k := range keep {
		kept[k] = true
	}
	seen := map[int]bool{}
	var killed []int
	deadline := time.Now().Add(sweepWait)
	buf := make([]byte, 16<<10) // a children file of a thousand pids fits
	for range sweepPasses {
		tree, err := descendants(root, buf)
		if err != nil {
			return killed, err
		}
		var fds []int
		for _, d := range tree {
			if kept[d.pgid] {
				continue
			}
			fd, err := killPid(d.pid)
			if err != nil {
				closeAll(fds)
				return killed, err
			}
			if fd < 0 {
				continue // gone meanwhile
			}
			fds = append(fds, fd)
			if !seen[d.pid] {
				seen[d.pid] = true
				killed = append(killed, d.pid)
			}
		}
		if len(fds) == 0 {
			return killed, nil
		}
		waitExited(fds, deadline)
		closeAll(fds)
	}
	return killed, nil
}

// descendant is a live (not zombie) descendant of a sweep's root.
type descendant struct{ pid, pgid int }

// descendants lists the live descendants of root, parents before their
// children; zombies (and what they may still hold) are left out.
func descendants(root int, buf []byte) ([]descendant, error) {
	kids, ok := childrenOf(root, buf)
	if !ok {
		return descendantsFromAll(root)
	}
	var out []descendant
	for stack := kids; len(stack) > 0; {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		data, ok := readStat(pid, buf)
		if !ok {
			continue // gone meanwhile
		}
		st, ok := parseStat(data)
		if !ok || st.zombie {
			continue
		}
		out = append(out, descendant{pid: pid, pgid: st.pgid})
		more, _ := childrenOf(pid, buf)
		stack = append(stack, more...)
	}
	return out, nil
}

// childrenOf returns the children of pid from the children files of its
// threads; ok is false when the kernel has no such files (built without
// CONFIG_PROC_CHILDREN) or pid is gone.
func childrenOf(pid int, buf []byte) (kids []int, ok bool) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	tids, err := os.ReadDir(dir)
	if err != nil {
		return nil, false
	}
	for _, t := range tids {
		data, err := readSmall(dir+t.Name()+"/children", buf)
		if err != nil {
			if errors.Is(err, unix.ENOENT) && t.Name() == strconv.Itoa(pid) {
				return nil, false // no children files on this kernel
			}
			continue // the thread ended meanwhile
		}
		for f := range bytes.FieldsSeq(data) {
			if n, err := strconv.Atoi(string(f)); err == nil {
				kids = append(kids, n)
			}
		}
	}
	return kids, true
}

// descendantsFromAll lists the live descendants of root from the parent
// of every process in /proc.
func descendantsFromAll(root int) ([]descendant, error) {
	procs, err := readProcs()
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	var out []descendant
	for stack := append([]int(nil), children[root]...); len(stack) > 0; {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		stack = append(stack, children[pid]...)
		out = append(out, descendant{pid: pid, pgid: procs[pid].pgid})
	}
	return out, nil
}

// How long Sweep waits for the processes it killed, and how often it looks
// again for ones forked meanwhile.
const (
	sweepWait   = 5 * time.Second
	sweepPasses = 10
)

// killPid sends SIGKILL to pid through a pidfd and returns the pidfd, or
// -1 when the process is already gone. Without pidfds (Linux < 5.3) it
// falls back to kill(2) and returns -1: there is then nothing to wait on.
func killPid(pid int) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	switch {
	case errors.Is(err, unix.ESRCH):
		return -1, nil
	case errors.Is(err, unix.ENOSYS):
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return -1, fmt.Errorf("kill leftover pid %d: %w", pid, err)
		}
		return -1, nil
	case err != nil:
		return -1, fmt.Errorf("open leftover pid %d: %w", pid, err)
	}
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		unix.Close(fd)
		return -1, fmt.Errorf("kill leftover pid %d: %w", pid, err)
	}
	return fd, nil
}

// waitExited blocks until every pidfd is readable (its process exited) or
// the deadline passes.
func waitExited(fds []int, deadline time.Time) {
	pending := make([]unix.PollFd, len(fds))
	for i, fd := range fds {
		pending[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	}
	for len(pending) > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		n, err := unix.Poll(pending, int(left.Milliseconds())+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if n <= 0 {
			continue
		}
		kept := pending[:0]
		for _, p := range pending {
			if p.Revents == 0 {
				p.Revents = 0
				kept = append(kept, p)
			}
		}
		pending = kept
	}
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
