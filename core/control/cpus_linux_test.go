package control

import (
	"math"
	"runtime"
	"testing"
	"testing/fstest"
)

// The CPU limit is the tightest cpu.max (v2) or cfs quota (v1) on the
// process's cgroup and its ancestors; "max", -1, missing or unreadable
// files are no limit.
func TestCgroupCPULimit(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name   string
		cgroup string
		files  fstest.MapFS
		want   float64 // 0: no limit
	}{
		{"v2, namespaced: the limit at the root", "0::/\n",
			fstest.MapFS{"sys/fs/cgroup/cpu.max": file("100000 100000\n")}, 1},
		{"v2, one and a half CPUs", "0::/job.slice/app.service\n",
			fstest.MapFS{"sys/fs/cgroup/job.slice/app.service/cpu.max": file("150000 100000\n")}, 1.5},
		{"v2, no limit here but on a parent", "0::/job.slice/app.service\n",
			fstest.MapFS{
				"sys/fs/cgroup/job.slice/app.service/cpu.max": file("max 100000\n"),
				"sys/fs/cgroup/job.slice/cpu.max":             file("50000 100000\n"),
			}, 0.5},
		{"v2, the tighter of two", "0::/a/b\n",
			fstest.MapFS{
				"sys/fs/cgroup/a/b/cpu.max": file("300000 100000\n"),
				"sys/fs/cgroup/a/cpu.max":   file("200000 100000\n"),
			}, 2},
		{"v2, hybrid mount", "0::/x\n",
			fstest.MapFS{"sys/fs/cgroup/unified/x/cpu.max": file("100000 100000\n")}, 1},
		{"v2, max everywhere", "0::/x\n",
			fstest.MapFS{"sys/fs/cgroup/x/cpu.max": file("max 100000\n"), "sys/fs/cgroup/cpu.max": file("max 100000\n")}, 0},
		{"v1, cpu,cpuacct", "4:memory:/m\n3:cpu,cpuacct:/docker/abc\n0::/\n",
			fstest.MapFS{
				"sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us":  file("100000\n"),
				"sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": file("100000\n"),
			}, 1},
		{"v1, the cpu link", "1:cpu:/\n",
			fstest.MapFS{
				"sys/fs/cgroup/cpu/cpu.cfs_quota_us":  file("250000\n"),
				"sys/fs/cgroup/cpu/cpu.cfs_period_us": file("100000\n"),
			}, 2.5},
		{"v1, no quota (-1)", "1:cpu:/\n",
			fstest.MapFS{
				"sys/fs/cgroup/cpu/cpu.cfs_quota_us":  file("-1\n"),
				"sys/fs/cgroup/cpu/cpu.cfs_period_us": file("100000\n"),
			}, 0},
		{"v1, cpuacct alone is not cpu", "2:cpuacct:/\n",
			fstest.MapFS{
				"sys/fs/cgroup/cpuacct/cpu.cfs_quota_us":  file("100000\n"),
				"sys/fs/cgroup/cpuacct/cpu.cfs_period_us": file("100000\n"),
			}, 0},
		{"garbage in cpu.max", "0::/\n", fstest.MapFS{"sys/fs/cgroup/cpu.max": file("lots\n")}, 0},
		{"a zero period", "0::/\n", fstest.MapFS{"sys/fs/cgroup/cpu.max": file("100000 0\n")}, 0},
		{"no files", "0::/x\n", fstest.MapFS{}, 0},
		{"no cgroup lines", "", fstest.MapFS{"sys/fs/cgroup/cpu.max": file("100000 100000\n")}, 0},
		{"a relative path is ignored", "0::x\n", fstest.MapFS{"sys/fs/cgroup/cpu.max": file("100000 100000\n")}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := cgroupCPULimit(tt.files, []byte(tt.cgroup))
			if tt.want == 0 {
				if ok {
					t.Fatalf("cgroupCPULimit = %v, want no limit", got)
				}
				return
			}
			if !ok || got != tt.want {
				t.Fatalf("cgroupCPULimit = %v, %v; want %v", got, ok, tt.want)
			}
		})
	}
}

// availableCPUs never says more than the CPUs the process may run on, nor
// less than one.
func TestAvailableCPUs(t *testing.T) {
	if n := availableCPUs(); n < 1 || n > runtime.NumCPU() {
		t.Fatalf("availableCPUs = %d, NumCPU %d", n, runtime.NumCPU())
	}
}

// Whatever /proc/self/cgroup and cpu.max say, the limit is positive and
// finite or there is none, and reading it never panics.
func FuzzCgroupCPULimit(f *testing.F) {
	f.Add("0::/a/b\n", "150000 100000\n")
	f.Add("3:cpu,cpuacct:/docker/x\n", "max 100000")
	f.Add("0::/\n", "-5 10")
	f.Fuzz(func(t *testing.T, cgroup, cpuMax string) {
		fsys := fstest.MapFS{
			"sys/fs/cgroup/cpu.max":               {Data: []byte(cpuMax)},
			"sys/fs/cgroup/a/cpu.max":             {Data: []byte(cpuMax)},
			"sys/fs/cgroup/cpu/cpu.cfs_quota_us":  {Data: []byte(cpuMax)},
			"sys/fs/cgroup/cpu/cpu.cfs_period_us": {Data: []byte("100000")},
		}
		if q, ok := cgroupCPULimit(fsys, []byte(cgroup)); ok && (q <= 0 || math.IsInf(q, 0) || math.IsNaN(q)) {
			t.Fatalf("limit %v from %q, %q", q, cgroup, cpuMax)
		}
	})
}
