package supervisor

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/zdaemon/zdaemon/core/manager"
)

// processFigures reads this process's CPU time, resident memory and
// descriptors from /proc/self, as Prometheus's process collector does.
func processFigures() manager.ProcessFigures {
	var f manager.ProcessFigures
	if st, err := os.ReadFile("/proc/self/stat"); err == nil {
		if i := strings.LastIndexByte(string(st), ')'); i > 0 {
			fields := strings.Fields(string(st[i+1:]))
			// utime and stime are fields 14 and 15 of stat(5), 12 and 13 here.
			if len(fields) > 13 {
				u, _ := strconv.ParseFloat(fields[11], 64)
				s, _ := strconv.ParseFloat(fields[12], 64)
				f.CPUSeconds = (u + s) / 100 // USER_HZ
			}
		}
	}
	if sm, err := os.ReadFile("/proc/self/statm"); err == nil {
		if fields := strings.Fields(string(sm)); len(fields) > 1 {
			pages, _ := strconv.ParseInt(fields[1], 10, 64)
			f.ResidentBytes = pages * int64(os.Getpagesize())
		}
	}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		f.OpenFDs = len(ents)
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil {
		f.MaxFDs = int(lim.Cur)
	}
	return f
}
