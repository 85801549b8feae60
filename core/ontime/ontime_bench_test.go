package ontime

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkLateness measures how late a 3 ms time.Timer fires in a
// process with nothing else to do, with and without a nudge; it reports
// the median lateness as late-µs (run with -benchtime 200x or so):
//
//	go test ./core/ontime -run '^$' -bench Lateness -benchtime 200x
func BenchmarkLateness(b *testing.B) {
	for _, nudged := range []bool{false, true} {
		name := "go-timer"
		if nudged {
			name = "nudged"
		}
		b.Run(name, func(b *testing.B) {
			var n *Nudge
			if nudged {
				var err error
				if n, err = New(); err != nil || n == nil {
					b.Fatalf("New() = %v, %v", n, err)
				}
				defer n.Close()
			}
			const d = 3 * time.Millisecond
			late := make([]time.Duration, 0, b.N)
			timer := time.NewTimer(time.Hour)
			for b.Loop() {
				start := time.Now()
				timer.Reset(d)
				n.After(d)
				<-timer.C
				late = append(late, time.Since(start)-d)
			}
			slices.Sort(late)
			b.ReportMetric(float64(late[len(late)/2].Microseconds()), "late-µs")
		})
	}
}
