package main

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

// The idle manager of a job without plugins is small: zdrun links no
// plugin stack (see TestManagerLinksNoPluginStack), so its package inits
// and start-up touch few pages of its binary, and it starts on one P (see
// daemon.RestoreEnv). The limits are issue 9's RSS target, 6 MB, and our
// own for anonymous memory, 1.5 MB, each with 20% headroom for other
// kernels and runs. Measured on a 2-core VM whose page faults map 64 KiB
// (fault-around): 5.4 MB RSS, 1.0 MB anonymous; the manager with the
// plugin stack linked in (zdrun before, zdrun-plugins now) maps 14.9 MB,
// 2.5 MB of it anonymous. It is a promise about size, not time: the
// figures are read once the manager has answered.
func TestIdleManagerFootprint(t *testing.T) {
	const (
		rssLimitKB  = 6 * 1024 * 12 / 10
		anonLimitKB = 1536 * 12 / 10
	)
	j := newJob(t)
	args := []string{"-p", "sleep 100", "-s", j.path("zdsock")}
	j.startOK(args...)
	defer j.stopOK(args...)
	mgr, err := strconv.Atoi(j.statusMap(args...)["manager"])
	if err != nil {
		t.Fatalf("no manager pid in the status: %v", err)
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", mgr)); exe != zdrunBin {
		t.Fatalf("the manager of a job without plugins runs %s, want %s", exe, zdrunBin)
	}
	m := memoryOf(t, mgr)
	t.Logf("idle manager: RSS %d KiB, PSS %d KiB, USS %d KiB, anonymous %d KiB", m.rss, m.pss, m.uss, m.anon)
	if m.rss > rssLimitKB {
		t.Errorf("the idle manager maps %d KiB (RSS), more than %d KiB", m.rss, rssLimitKB)
	}
	if m.anon > anonLimitKB {
		t.Errorf("the idle manager has %d KiB of anonymous memory, more than %d KiB", m.anon, anonLimitKB)
	}
}
