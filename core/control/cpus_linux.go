//go:build linux

package control

import (
	"bufio"
	"bytes"
	"io/fs"
	"math"
	"os"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// availableCPUs is how many CPUs this process may keep busy at once: the
// CPUs it may run on (runtime.NumCPU counts its affinity mask), or fewer
// when its cgroup's CPU bandwidth limit allows less (a container given
// one CPU on a larger machine), rounded up.
func availableCPUs() int {
	n := runtime.NumCPU()
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return n
	}
	if q, ok := cgroupCPULimit(os.DirFS("/"), cg); ok {
		n = min(n, max(1, int(math.Ceil(q))))
	}
	return n
}

// cgroupCPULimit is the tightest CPU bandwidth limit, in CPUs, on the
// cgroup that cgroupFile (the text of /proc/self/cgroup) names and on its
// ancestors, as the files under sys/fs/cgroup of fsys say (cgroup v2's
// cpu.max, at sys/fs/cgroup or, on a hybrid system, sys/fs/cgroup/unified;
// v1's cpu.cfs_quota_us over cpu.cfs_period_us); false when none is set
// or none can be read. In a container with its own cgroup namespace the
// path is "/" and the limit is at the mount's root.
func cgroupCPULimit(fsys fs.FS, cgroupFile []byte) (float64, bool) {
	best, found := math.Inf(1), false
	consider := func(q float64, ok bool) {
		if ok && q < best {
			best, found = q, true
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(cgroupFile))
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		f := strings.SplitN(sc.Text(), ":", 3)
		if len(f) != 3 || !strings.HasPrefix(f[2], "/") {
			continue
		}
		switch {
		case f[0] == "0" && f[1] == "":
			for _, mount := range []string{"sys/fs/cgroup", "sys/fs/cgroup/unified"} {
				walkUp(mount, f[2], func(dir string) { consider(readCPUMax(fsys, dir)) })
			}
		case slices.Contains(strings.Split(f[1], ","), "cpu"):
			for _, mount := range []string{"sys/fs/cgroup/cpu", "sys/fs/cgroup/" + f[1]} {
				walkUp(mount, f[2], func(dir string) { consider(readCFSQuota(fsys, dir)) })
			}
		}
	}
	return best, found
}

// walkUp calls visit for mount/cgroup and each of its ancestors up to
// mount itself.
func walkUp(mount, cgroup string, visit func(dir string)) {
	for p := path.Clean(cgroup); ; p = path.Dir(p) {
		visit(path.Join(mount, p))
		if p == "/" || p == "." {
			return
		}
	}
}

// readCPUMax reads cgroup v2's cpu.max in dir: "QUOTA PERIOD" in
// microseconds, or "max PERIOD" for no limit.
func readCPUMax(fsys fs.FS, dir string) (float64, bool) {
	b, err := fs.ReadFile(fsys, path.Join(dir, "cpu.max"))
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, false
	}
	return quotaOver(f[0], f[1])
}

// readCFSQuota reads cgroup v1's cpu.cfs_quota_us (-1 for no limit) and
// cpu.cfs_period_us in dir.
func readCFSQuota(fsys fs.FS, dir string) (float64, bool) {
	q, err := fs.ReadFile(fsys, path.Join(dir, "cpu.cfs_quota_us"))
	if err != nil {
		return 0, false
	}
	p, err := fs.ReadFile(fsys, path.Join(dir, "cpu.cfs_period_us"))
	if err != nil {
		return 0, false
	}
	return quotaOver(strings.TrimSpace(string(q)), strings.TrimSpace(string(p)))
}

// quotaOver is quota/period in CPUs when both are positive numbers.
func quotaOver(quota, period string) (float64, bool) {
	q, err := strconv.ParseInt(quota, 10, 64)
	if err != nil || q <= 0 {
		return 0, false
	}
	p, err := strconv.ParseInt(period, 10, 64)
	if err != nil || p <= 0 {
		return 0, false
	}
	return float64(q) / float64(p), true
}
