package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zdaemon/zdaemon/core/controlproto"
)

// Benchmarks of the real binary, as a user runs it. Run them with
//
//	go test ./cmd/zdaemon -run '^$' -bench . -benchtime 20x
//
// (BenchmarkManagerFootprint observes once, for 10 s.)
//
// Each reports milliseconds per operation as ms/op; the footprint benchmark
// reports the manager's RSS and the CPU it used while idle.

// benchJob is a scratch job; a first run of the binary warms the page
// cache so that the first iteration does not measure a cold start.
func benchJob(b *testing.B) *job {
	j := newJob(b)
	j.run("--version")
	return j
}

func (j *job) benchRun(b *testing.B, args ...string) result {
	b.Helper()
	r := j.run(args...)
	if r.code != 0 {
		b.Fatalf("zdaemon %v: exit %d: %q %q", args, r.code, r.out, r.err)
	}
	return r
}

// medianMs is the median of took in milliseconds: on a shared machine a
// mean follows the worst rounds. .ci/bench runs 20 rounds.
func medianMs(took []time.Duration) float64 {
	if len(took) == 0 {
		return 0
	}
	s := slices.Clone(took)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + m) / 2
	}
	return float64(m.Microseconds()) / 1000
}

// BenchmarkStart measures "zdaemon start" until "daemon process started"
// (median of the rounds)
// (the stop after each start is not timed).
func BenchmarkStart(b *testing.B) {
	j := benchJob(b)
	var took []time.Duration
	for b.Loop() {
		r := j.benchRun(b, "-p", "sleep 3600", "start")
		took = append(took, r.took)
		b.StopTimer()
		j.benchRun(b, "-p", "sleep 3600", "stop")
		b.StartTimer()
	}
	b.ReportMetric(medianMs(took), "ms/start")
}

// BenchmarkStartNoGrace measures "zdaemon start" with start-grace = 0:
// what the client, the manager's start-up and the program's exec cost
// without the 20 ms the default grace adds.
func BenchmarkStartNoGrace(b *testing.B) {
	j := benchJob(b)
	start := []string{"-C", j.write("nograce.hcl", "runner {\n  program = \"sleep 3600\"\n  start-grace = 0\n}\n")}
	var took []time.Duration
	for b.Loop() {
		r := j.benchRun(b, append(start, "start")...)
		took = append(took, r.took)
		b.StopTimer()
		j.benchRun(b, append(start, "stop")...)
		b.StartTimer()
	}
	b.ReportMetric(medianMs(took), "ms/start")
}

// BenchmarkBinarySize reports the size of the two executables as built by
// TestMain (unstripped, CGO_ENABLED=0, as the README builds them).
func BenchmarkBinarySize(b *testing.B) {
	for b.Loop() {
	}
	for _, bin := range []struct{ name, path string }{{"client", zdaemonBin}, {"manager", zdrunBin}} {
		fi, err := os.Stat(bin.path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size())/1e6, bin.name+"-MB")
	}
}

// BenchmarkStop measures "zdaemon stop" of a cooperative program.
func BenchmarkStop(b *testing.B) {
	j := benchJob(b)
	var took []time.Duration
	for b.Loop() {
		b.StopTimer()
		j.benchRun(b, "-p", "sleep 3600", "start")
		b.StartTimer()
		r := j.benchRun(b, "-p", "sleep 3600", "stop")
		took = append(took, r.took)
	}
	b.ReportMetric(medianMs(took), "ms/stop")
}

// BenchmarkStatusCommand measures "zdaemon status", process start included.
func BenchmarkStatusCommand(b *testing.B) {
	j := benchJob(b)
	j.benchRun(b, "-p", "sleep 3600", "start")
	defer j.run("-p", "sleep 3600", "stop")
	var took []time.Duration
	for b.Loop() {
		took = append(took, j.benchRun(b, "-p", "sleep 3600", "status").took)
	}
	b.ReportMetric(medianMs(took), "ms/status")
}

// BenchmarkStatusRoundTrip measures one control-socket status round trip.
func BenchmarkStatusRoundTrip(b *testing.B) {
	j := benchJob(b)
	j.benchRun(b, "-p", "sleep 3600", "start")
	defer j.run("-p", "sleep 3600", "stop")
	ctx := context.Background()
	for b.Loop() {
		if _, err := controlproto.Do(ctx, j.path("zdsock"), "status"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkManagerFootprint reports the idle manager's RSS and the CPU
// time it used while idle (ZD_IDLE_SECONDS, default 10), alone and with a
// transcript sink and a tcp start test (plugins' RSS added).
func BenchmarkManagerFootprint(b *testing.B) {
	idle := 10 * time.Second
	if s, err := strconv.Atoi(os.Getenv("ZD_IDLE_SECONDS")); err == nil && s > 0 {
		idle = time.Duration(s) * time.Second
	}
	for _, tc := range []struct{ name, job string }{
		{"bare", "runner {\n  program = \"sleep 3600\"\n}\n"},
		{"plugins", fmt.Sprintf("runner {\n  program = [%q, \"-tcp\", \"127.0.0.1:%d\"]\n}\ntranscript \"file\" {\n  path = \"out.log\"\n}\nhealthcheck \"tcp\" {\n  address = \"127.0.0.1:%d\"\n  interval = \"100ms\"\n}\n",
			readyProg, 30000+os.Getpid()%10000, 30000+os.Getpid()%10000)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			j := benchJob(b)
			conf := j.write("job.hcl", tc.job)
			j.benchRun(b, "-C", conf, "start")
			defer j.run("-C", conf, "stop")
			mgr, _ := strconv.Atoi(j.statusMap("-C", conf)["manager"])
			for b.Loop() {
			}
			// One observation, however many iterations were asked for.
			before := cpuTicks(b, mgr)
			time.Sleep(idle)
			after := cpuTicks(b, mgr)
			b.ReportMetric(float64(after-before), "idle-ticks")
			b.ReportMetric(idle.Seconds(), "idle-s")
			m := memoryOf(b, mgr)
			b.ReportMetric(float64(m.rss)/1024, "rss-MB")
			b.ReportMetric(float64(m.pss)/1024, "pss-MB")
			b.ReportMetric(float64(m.uss)/1024, "uss-MB")
			b.ReportMetric(float64(m.anon)/1024, "anon-MB")
			var plugins memory
			for _, pid := range childrenOf(mgr) {
				cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				if strings.Contains(string(cmdline), "\x00plugin\x00") {
					pm := memoryOf(b, pid)
					plugins.rss += pm.rss
					plugins.pss += pm.pss
					plugins.uss += pm.uss
				}
			}
			b.ReportMetric(float64(plugins.rss)/1024, "plugins-rss-MB")
			b.ReportMetric(float64(plugins.pss)/1024, "plugins-pss-MB")
			b.ReportMetric(float64(plugins.uss)/1024, "plugins-uss-MB")
		})
	}
}

// childrenOf lists the live children of pid.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+2:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

// BenchmarkRestart measures "zdaemon restart" of a running program.
func BenchmarkRestart(b *testing.B) {
	j := benchJob(b)
	j.benchRun(b, "-p", "sleep 3600", "start")
	defer j.run("-p", "sleep 3600", "stop")
	var took []time.Duration
	for b.Loop() {
		took = append(took, j.benchRun(b, "-p", "sleep 3600", "restart").took)
	}
	b.ReportMetric(medianMs(took), "ms/restart")
}

// BenchmarkCrashRestartGap: a program that crashes at once is restarted
// after the back-off delay (1 s for the first crash); reports how much
// later than that the new run started.
func BenchmarkCrashRestartGap(b *testing.B) {
	j := benchJob(b)
	j.write("crash.sh", "date +%s%N >> starts\nexit 1\n")
	conf := j.write("job.hcl", "runner {\n  program = \"sh crash.sh\"\n  backoff-limit = 5\n  forever = true\n}\n")
	var extra time.Duration
	for b.Loop() {
		os.Remove(j.path("starts"))
		j.run("-C", conf, "-T", "1", "start") // never up: it crashes
		var f []string
		eventually(b, 10*time.Second, "the second start", func() bool {
			data, _ := os.ReadFile(j.path("starts"))
			f = strings.Fields(string(data))
			return len(f) >= 2
		})
		t0, _ := strconv.ParseInt(f[0], 10, 64)
		t1, _ := strconv.ParseInt(f[1], 10, 64)
		extra += time.Duration(t1-t0) - time.Second
		b.StopTimer()
		j.run("-C", conf, "stop")
		b.StartTimer()
	}
	b.ReportMetric(float64(extra.Microseconds())/1000/float64(b.N), "ms-over-backoff")
}

// BenchmarkStatusConcurrent200: 200 clients ask for status at once; one
// op is the whole wave. Reports the mean latency of a request and the
// round trips per second the wave achieved.
func BenchmarkStatusConcurrent200(b *testing.B) {
	j := benchJob(b)
	j.benchRun(b, "-p", "sleep 3600", "start")
	defer j.run("-p", "sleep 3600", "stop")
	ctx := context.Background()
	var lat, wall time.Duration
	var mu sync.Mutex
	for b.Loop() {
		var wg sync.WaitGroup
		start := time.Now()
		for range 200 {
			wg.Go(func() {
				t0 := time.Now()
				if _, err := controlproto.Do(ctx, j.path("zdsock"), "status"); err != nil {
					b.Error(err)
				}
				mu.Lock()
				lat += time.Since(t0)
				mu.Unlock()
			})
		}
		wg.Wait()
		wall += time.Since(start)
	}
	b.ReportMetric(float64(lat.Microseconds())/1000/float64(200*b.N), "ms/status")
	b.ReportMetric(float64(200*b.N)/wall.Seconds(), "roundtrips/s")
}

// BenchmarkTranscriptLineSizes: 64 MiB in lines of 16 B to 64 KiB.
func BenchmarkTranscriptLineSizes(b *testing.B) {
	const size = 64 << 20
	for _, line := range []int{16, 256, 4096, 65536} {
		b.Run(fmt.Sprintf("line-%d", line), func(b *testing.B) {
			j := benchJob(b)
			j.write("gen.sh", fmt.Sprintf("yes \"$(head -c %d /dev/zero | tr '\\0' x)\" | head -c %d\nexec sleep 3600\n", line-1, size))
			conf := j.write("job.hcl", "runner {\n  program = \"sh gen.sh\"\n}\ntranscript \"file\" {\n  path = \"out.log\"\n}\n")
			var total time.Duration
			for b.Loop() {
				os.Remove(j.path("out.log"))
				start := time.Now()
				j.benchRun(b, "-C", conf, "start")
				waitSize(b, j.path("out.log"), size)
				total += time.Since(start)
				b.StopTimer()
				j.benchRun(b, "-C", conf, "stop")
				b.StartTimer()
			}
			b.ReportMetric(float64(size)/(1<<20)/(total.Seconds()/float64(b.N)), "MB/s")
		})
	}
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

// memory is a process's resident memory in KiB (/proc/PID/smaps_rollup):
// RSS counts every page it maps, PSS its share of shared pages, USS the
// pages no other process maps (smem's definition: a lone process's own
// binary counts in full, as clean, reclaimable pages), anon its heap,
// stacks and other anonymous pages, which nothing but exiting returns.
type memory struct{ rss, pss, uss, anon int }

func memoryOf(b testing.TB, pid int) memory {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		b.Fatal(err)
	}
	var m memory
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "Rss:":
			m.rss = n
		case "Pss:":
			m.pss = n
		case "Private_Clean:", "Private_Dirty:":
			m.uss += n
		case "Anonymous:":
			m.anon = n
		}
	}
	if m.rss == 0 {
		b.Fatalf("no Rss in smaps_rollup of %d", pid)
	}
	return m
}

// BenchmarkTranscriptThroughput: a program writes 256 MiB as fast as it
// can into the transcript (the file sink plugin), against
// "head | cat > file" in the same run. Both are timed as perf.py times
// them, from the writer's own time stamp (so the manager's and the sink's
// start-up is not counted) until the file holds everything. Reports MB/s
// of both and the ratio (the goal: ≥ 0.95).
func BenchmarkTranscriptThroughput(b *testing.B) {
	const size = 256 << 20
	j := benchJob(b)
	conf := j.write("job.hcl", fmt.Sprintf(`runner {
  program = ["sh", "-c", "while [ ! -e go ]; do sleep 0.01; done; date +%%s%%N > t0; head -c %d /dev/zero; exec sleep 3600"]
}
transcript "file" {
  path = "out.log"
}
`, size))
	var ours, cat time.Duration
	for b.Loop() {
		for _, name := range []string{"out.log", "cat.out", "go", "t0"} {
			os.Remove(j.path(name))
		}
		b.StopTimer()
		j.benchRun(b, "-C", conf, "start")
		b.StartTimer()
		j.write("go", "")
		waitSize(b, j.path("out.log"), size)
		ours += time.Since(stampTime(b, j.path("t0")))
		b.StopTimer()
		j.benchRun(b, "-C", conf, "stop")
		b.StartTimer()

		cmd := exec.Command("sh", "-c", fmt.Sprintf("date +%%s%%N > t0; head -c %d /dev/zero | cat > cat.out", size))
		cmd.Dir = j.dir
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		cat += time.Since(stampTime(b, j.path("t0")))
	}
	mbps := func(d time.Duration) float64 { return float64(size) / (1 << 20) / (d.Seconds() / float64(b.N)) }
	b.ReportMetric(mbps(ours), "MB/s")
	b.ReportMetric(mbps(cat), "cat-MB/s")
	b.ReportMetric(mbps(ours)/mbps(cat), "ratio-to-cat")
}

// stampTime reads a `date +%s%N` stamp a program wrote.
func stampTime(b *testing.B, path string) time.Time {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		b.Fatalf("time stamp in %s: %v", path, err)
	}
	return time.Unix(0, ns)
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

// BenchmarkStatusRoundTripRaw: the same round trip with a minimal client
// (bare system calls, as a C client would make them), so the figure is the
// manager's and not the Go client library's.
func BenchmarkStatusRoundTripRaw(b *testing.B) {
	j := benchJob(b)
	j.benchRun(b, "-p", "sleep 3600", "start")
	defer j.run("-p", "sleep 3600", "stop")
	addr := &syscall.SockaddrUnix{Name: j.path("zdsock")}
	buf := make([]byte, 4096)
	req := []byte("status\n")
	for b.Loop() {
		fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := syscall.Connect(fd, addr); err != nil {
			b.Fatal(err)
		}
		tv := syscall.Timeval{Sec: 5}
		syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv) // bounds the read
		syscall.Write(fd, req)
		syscall.Shutdown(fd, syscall.SHUT_WR)
		for {
			if n, err := syscall.Read(fd, buf); n <= 0 || err != nil {
				break
			}
		}
		syscall.Close(fd)
	}
}

// waitSize waits (a minute at most, polling every 2 ms for precision)
// until the file at path holds size bytes.
func waitSize(b *testing.B, path string, size int64) {
	b.Helper()
	pollUntil(b, time.Minute, 2*time.Millisecond, fmt.Sprintf("%d bytes in %s", size, path), func() bool {
		st, err := os.Stat(path)
		return err == nil && st.Size() >= size
	})
}
