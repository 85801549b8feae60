package logfile

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zdaemon/zdaemon/plugins/transcript"
)

// BenchmarkCopy is the sink's copy loop against the yardstick of issue 9,
// `cat > file`: each round, `head -c 64 MiB /dev/zero` (another process,
// as the program is) writes into a pipe made as the manager makes it
// (blocking, 1 MiB), once with the file sink reading it and twice with
// cat (the order turns each round), timed from the writer's start until
// the reader has written everything. It reports medians over the rounds:
// the sink's MB/s, cat's, and x-cat, the ratio of the sink's throughput
// to the first cat's in the same round (the goal is ≥ 0.95), with its
// lowest round, x-cat-min; cpu-x-cat, the CPU time the sink spent over
// cat's (on a loaded machine, the steadier of the two); and the control,
// cat-x-cat-min, the lowest ratio of the second cat to the first: how far
// one round's ratio falls on this machine when both sides copy alike.
// On a shared machine, run enough rounds: -benchtime 20x.
func BenchmarkCopy(b *testing.B) {
	for _, tool := range []string{"cat", "head"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("no %s: %v", tool, err)
		}
	}
	const size = 64 << 20
	dir := b.TempDir()
	var catCPU, sinkCPU time.Duration
	// catCopy starts cat copying a pipe into dir/name.
	catCopy := func(name string) func(r *os.File) func() {
		return func(r *os.File) func() {
			out, err := os.Create(filepath.Join(dir, name))
			if err != nil {
				b.Fatal(err)
			}
			cat := exec.Command("cat")
			cat.Stdin, cat.Stdout = r, out
			if err := cat.Start(); err != nil {
				b.Fatal(err)
			}
			return func() {
				if err := cat.Wait(); err != nil {
					b.Fatalf("cat: %v", err)
				}
				catCPU += cat.ProcessState.UserTime() + cat.ProcessState.SystemTime()
				out.Close()
			}
		}
	}
	sinkCopy := func(r *os.File) func() {
		path := filepath.Join(dir, "sink.out")
		s := &Sink{}
		cpu0 := ownCPU(b)
		if err := s.Start(context.Background(), transcript.Config{"path": path}, r); err != nil {
			b.Fatal(err)
		}
		return func() {
			<-s.done // end of input, everything written; no Sync, as cat
			sinkCPU += ownCPU(b) - cpu0
			st, _ := s.Status(context.Background())
			s.f.Close()
			if st.BytesWritten != size || st.Error != "" {
				b.Fatalf("sink status %+v", st)
			}
		}
	}
	var sinkMBps, catMBps, ratios, controls []float64
	for round := 0; b.Loop(); round++ {
		// Turn the order: each copy leaves dirty pages for the kernel to
		// write back during the next one.
		var sinkTook, catTook, cat2Took time.Duration
		runs := []func(){
			func() { catTook = copyOnce(b, size, catCopy("cat.out")) },
			func() { sinkTook = copyOnce(b, size, sinkCopy) },
			func() { cat2Took = copyOnce(b, size, catCopy("cat2.out")) },
		}
		for i := range runs {
			runs[(round+i)%len(runs)]()
		}
		sinkMBps = append(sinkMBps, size/1e6/sinkTook.Seconds())
		catMBps = append(catMBps, size/1e6/catTook.Seconds(), size/1e6/cat2Took.Seconds())
		ratios = append(ratios, catTook.Seconds()/sinkTook.Seconds())
		controls = append(controls, catTook.Seconds()/cat2Took.Seconds())
		for _, name := range []string{"cat.out", "cat2.out", "sink.out"} {
			if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() != size {
				b.Fatalf("%s: want %d bytes: %v %v", name, size, st, err)
			}
			os.Remove(filepath.Join(dir, name))
		}
	}
	if testing.Verbose() { // the rounds, to tell a stall of the machine from the sink's
		b.Logf("MB/s by round: sink %.0f\ncat, two a round: %.0f", sinkMBps, catMBps)
	}
	b.ReportMetric(median(sinkMBps), "MB/s")
	b.ReportMetric(median(catMBps), "cat-MB/s")
	b.ReportMetric(median(ratios), "x-cat")
	b.ReportMetric(slices.Min(ratios), "x-cat-min")
	b.ReportMetric(sinkCPU.Seconds()/(catCPU.Seconds()/2), "cpu-x-cat")
	b.ReportMetric(slices.Min(controls), "cat-x-cat-min")
}

// ownCPU is the user and system time this process has used: during a
// sink round, the sink's copy loop (the benchmark goroutine waits).
func ownCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// median of the rounds: on a shared machine a mean follows the worst.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

// copyOnce starts a reader on a fresh pipe (start returns the wait for
// its end), then the writer, and times the writer's start to the reader's
// end.
func copyOnce(b *testing.B, size int, start func(r *os.File) (wait func())) time.Duration {
	b.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		b.Fatal(err)
	}
	r, w := os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1")
	defer r.Close()
	if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, 1<<20); err != nil {
		b.Fatal(err)
	}
	wait := start(r)
	head := exec.Command("head", "-c", strconv.Itoa(size), "/dev/zero")
	head.Stdout = w
	t0 := time.Now()
	if err := head.Start(); err != nil {
		b.Fatal(err)
	}
	w.Close()
	wait()
	took := time.Since(t0)
	if err := head.Wait(); err != nil {
		b.Fatalf("head: %v", err)
	}
	return took
}
