//go:build linux

package child

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// procInfo is what Sweep needs of a process.
type procInfo struct{ ppid, pgid int }

// readProcs reads ppid and pgid of every process from /proc.
func readProcs() (map[int]procInfo, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	procs := make(map[int]procInfo, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
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

// Sweep kills, with SIGKILL, every live descendant of root except those in
// the process groups of keep (the manager's plugins), and returns their
// pids. As a child subreaper the manager inherits what the program leaves
// behind, including children that left its process group with setsid, so
// after a stop this finds all of them.
func Sweep(root int, keep []int) ([]int, error) {
	procs, err := readProcs()
	if err != nil {
		return nil, err
	}
	kept := map[int]bool{}
	for _, k := range keep {
		kept[k] = true
	}
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	var killed []int
	stack := append([]int(nil), children[root]...)
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		stack = append(stack, children[pid]...)
		if kept[procs[pid].pgid] {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			killed = append(killed, pid)
		} else if !errors.Is(err, syscall.ESRCH) {
			return killed, fmt.Errorf("kill leftover pid %d: %w", pid, err)
		}
	}
	return killed, nil
}
