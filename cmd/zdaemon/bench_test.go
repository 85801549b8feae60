package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zdaemon/zdaemon/core/control"
)

// Benchmarks of the real binary, as a user runs it. Run them with
//
//	go test ./cmd/zdaemon -run '^$' -bench . -benchtime 20x
//
// (BenchmarkManagerFootprint observes once, for 10 s.)
//
// Each reports milliseconds per operation as ms/op; the footprint benchmark
// reports the manager's RSS and the CPU it used while idle.

func benchJob(b *testing.B) *job { return newJob(b) }

func (j *job) benchRun(b *testing.B, args ...string) result {
	b.Helper()
	r := j.run(args...)
	if r.code != 0 {
		b.Fatalf("zdaemon %v: exit %d: %q %q", args, r.code, r.out, r.err)
	}
	return r
}

// BenchmarkStart measures "zdaemon start" until "daemon process started"
// (the stop after each start is not timed).
func BenchmarkStart(b *testing.B) {
	j := benchJob(b)
	var total time.Duration
	for b.Loop() {
		r := j.benchRun(b, "-p", "sleep 3600", "start")
		total += r.took
		b.StopTimer()
		j.benchRun(b, "-p", "sleep 3600", "stop")
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
}

// BenchmarkStop measures "zdaemon stop" of a cooperative program.
func BenchmarkStop(b *testing.B) {
	j := benchJob(b)
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		j.benchRun(b, "-p", "sleep 3600", "start")
		b.StartTimer()
		r := j.benchRun(b, "-p", "sleep 3600", "stop")
		total += r.took
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/stop")
}

// BenchmarkStatusCommand measures "zdaemon status", process start included.
func BenchmarkStatusCommand(b *testing.B) {
	j := benchJob(b)
	j.benchRun(b, "-p", "sleep 3600", "start")
	defer j.run("-p", "sleep 3600", "stop")
	var total time.Duration
	for b.Loop() {
		total += j.benchRun(b, "-p", "sleep 3600", "status").took
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/status")
}

// BenchmarkStatusRoundTrip measures one control-socket status round trip.
func BenchmarkStatusRoundTrip(b *testing.B) {
	j := benchJob(b)
	j.benchRun(b, "-p", "sleep 3600", "start")
	defer j.run("-p", "sleep 3600", "stop")
	ctx := context.Background()
	for b.Loop() {
		if _, err := control.Do(ctx, j.path("zdsock"), "status"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkManagerFootprint reports the idle manager's RSS and the CPU
// time it used over 10 s of idleness.
func BenchmarkManagerFootprint(b *testing.B) {
	j := benchJob(b)
	j.benchRun(b, "-p", "sleep 3600", "start")
	defer j.run("-p", "sleep 3600", "stop")
	kv := map[string]string{}
	for _, line := range strings.Split(j.benchRun(b, "-p", "sleep 3600", "status", "-l").out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = v
		}
	}
	mgr, _ := strconv.Atoi(kv["manager"])
	// One 10 s observation, however many iterations were asked for.
	before := cpuTicks(b, mgr)
	time.Sleep(10 * time.Second)
	after := cpuTicks(b, mgr)
	b.ReportMetric(float64(after-before), "idle-ticks/10s")
	b.ReportMetric(float64(rssKB(b, mgr))/1024, "rss-MB")
}

// cpuTicks is utime+stime of pid in clock ticks.
func cpuTicks(b *testing.B, pid int) int {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+2:]))
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return u + s
}

// rssKB is VmRSS of pid.
func rssKB(b *testing.B, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
