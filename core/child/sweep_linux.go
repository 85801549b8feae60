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
		// pid (comm) state ppid pgrp ...; comm may contain anything.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(data[i+1:])
		if len(f) < 3 || string(f[0]) == "Z" {
			continue
		}
		ppid, _ := strconv.Atoi(string(f[1]))
		pgid, _ := strconv.Atoi(string(f[2]))
		procs[pid] = procInfo{ppid: ppid, pgid: pgid}
	}
	return procs, nil
}

// readStat reads the start of /proc/<pid>/stat into buf (the fields
// wanted come within the first few hundred bytes).
func readStat(pid int, buf []byte) ([]byte, bool) {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	for errors.Is(err, unix.EINTR) {
		fd, err = unix.Open("/proc/"+strconv.Itoa(pid)+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, false
	}
	defer unix.Close(fd)
	n, err := unix.Read(fd, buf)
	for errors.Is(err, unix.EINTR) {
		n, err = unix.Read(fd, buf)
	}
	if err != nil || n <= 0 {
		return nil, false
	}
	return buf[:n], true
}

// Sweep kills, with SIGKILL, every live descendant of root except those in
// the process groups of keep (the manager's plugins), waits until they are
// gone, and returns their pids. As a child subreaper the manager inherits
// what the program leaves behind, including children that left its process
// group with setsid, so after a stop this finds all of them.
//
// A process killed between two reads of /proc may have forked a child the
// first read did not see, so the sweep repeats until a pass finds nothing.
// Each process is signalled through a pidfd (never a recycled pid), and the
// sweep returns only once every one of them has exited (or sweepWait has
// passed), so a caller that answers "stopped" afterwards tells the truth
// even on a machine too loaded to run the dying processes at once.
func Sweep(root int, keep []int) ([]int, error) {
	kept := map[int]bool{}
	for _, k := range keep {
		kept[k] = true
	}
	seen := map[int]bool{}
	var killed []int
	deadline := time.Now().Add(sweepWait)
	for range sweepPasses {
		procs, err := readProcs()
		if err != nil {
			return killed, err
		}
		children := map[int][]int{}
		for pid, p := range procs {
			children[p.ppid] = append(children[p.ppid], pid)
		}
		var fds []int
		stack := append([]int(nil), children[root]...)
		for len(stack) > 0 {
			pid := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			stack = append(stack, children[pid]...)
			if kept[procs[pid].pgid] {
				continue
			}
			fd, err := killPid(pid)
			if err != nil {
				closeAll(fds)
				return killed, err
			}
			if fd < 0 {
				continue // gone meanwhile
			}
			fds = append(fds, fd)
			if !seen[pid] {
				seen[pid] = true
				killed = append(killed, pid)
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
