package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
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

// BenchmarkTranscriptThroughput: a program writes 256 MiB as fast as it
// can into the transcript (the file sink plugin), against
// "head | cat > file" in the same run. Reports MB/s of both and the ratio.
func BenchmarkTranscriptThroughput(b *testing.B) {
	const size = 256 << 20
	j := benchJob(b)
	conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program = ["sh", "-c", "head -c %d /dev/zero; exec sleep 3600"]
}
transcript "file" {
  path = "out.log"
}
`, size))
	var ours, cat time.Duration
	for b.Loop() {
		os.Remove(j.path("out.log"))
		os.Remove(j.path("cat.out"))
		start := time.Now()
		j.benchRun(b, "-C", conf, "start")
		for {
			st, err := os.Stat(j.path("out.log"))
			if err == nil && st.Size() >= size {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		ours += time.Since(start)
		b.StopTimer()
		j.benchRun(b, "-C", conf, "stop")
		b.StartTimer()

		start = time.Now()
		cmd := exec.Command("sh", "-c", fmt.Sprintf("head -c %d /dev/zero | cat > cat.out", size))
		cmd.Dir = j.dir
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		cat += time.Since(start)
	}
	mbps := func(d time.Duration) float64 { return float64(size) / (1 << 20) / (d.Seconds() / float64(b.N)) }
	b.ReportMetric(mbps(ours), "MB/s")
	b.ReportMetric(mbps(cat), "cat-MB/s")
	b.ReportMetric(mbps(ours)/mbps(cat), "ratio-to-cat")
}

// BenchmarkReadinessLag: from the moment the program is ready (it writes
// the time) to "zdaemon start" returning, with the notify check and with a
// polling tcp check (interval 1 s, the original's cadence).
func BenchmarkReadinessLag(b *testing.B) {
	for _, tc := range []struct{ name, args, check string }{
		{"notify", "-notify", `healthcheck "notify" {}`},
		{"tcp-1s", "-tcp 127.0.0.1:%d", `healthcheck "tcp" {
  address = "127.0.0.1:%d"
}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			j := benchJob(b)
			var total time.Duration
			port := 20000 + os.Getpid()%10000
			for b.Loop() {
				os.Remove(j.path("ready"))
				args := fmt.Sprintf(tc.args, port)
				check := fmt.Sprintf(tc.check, port)
				if !strings.Contains(tc.args, "%d") {
					args, check = tc.args, tc.check
				}
				conf := j.write("job.hcl", fmt.Sprintf("runner {\n  program = [%q, \"-delay\", \"300ms\", \"-stamp\", \"ready\", %q%s]\n}\n%s\n",
					readyProg, strings.Fields(args)[0], restArgs(args), check))
				j.benchRun(b, "-C", conf, "start")
				end := time.Now()
				stamp, err := os.ReadFile(j.path("ready"))
				if err != nil {
					b.Fatal("start returned before the program was ready")
				}
				ns, _ := strconv.ParseInt(string(stamp), 10, 64)
				total += end.Sub(time.Unix(0, ns))
				b.StopTimer()
				j.benchRun(b, "-C", conf, "stop")
				b.StartTimer()
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-lag")
		})
	}
}

func restArgs(args string) string {
	f := strings.Fields(args)
	var out string
	for _, a := range f[1:] {
		out += fmt.Sprintf(", %q", a)
	}
	return out
}
