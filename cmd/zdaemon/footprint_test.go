package main

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

// The idle manager of a job without plugins is small: zdrun links no
// plugin stack (see TestManagerLinksNoPluginStack) and no HCL or cty (see
// TestManagersLinkNoHCL), so its package inits and start-up touch few
// pages of its binary. The limits are issue 9's RSS target, 6 MB (the
// manager now maps 4.7 MB here, so the target itself leaves 25% for other
// kernels and runs), and our own for anonymous memory, 1.5 MB, with 20%
// headroom. Measured on a 2-core VM whose page faults map 64 KiB
// (fault-around): 4.7 MB RSS, 1.2 MB anonymous; with HCL and cty linked
// in (before core/jobfile) it mapped 6.2 MB, with the plugin stack too
// 14.9 MB. It is a promise about size, not time: the figures are read
// once the manager has answered.
func TestIdleManagerFootprint(t *testing.T) {
	const (
		rssLimitKB  = 6 * 1024
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
