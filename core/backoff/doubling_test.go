package backoff

import (
	"testing"
	"time"
)

func TestDoublingSequence(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		policy Doubling
		runs   []time.Duration
		want   []time.Duration
	}{
		{
			name:   "the sink's policy doubles from 100 ms to 10 s",
			policy: SinkRestart,
			runs:   []time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			want:   []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms, 10 * time.Second, 10 * time.Second, 10 * time.Second},
		},
		{
			name:   "a healthy run starts again at the minimum",
			policy: SinkRestart,
			runs:   []time.Duration{0, 0, 0, 10 * time.Second, 0, 9999 * ms},
			want:   []time.Duration{100 * ms, 200 * ms, 400 * ms, 100 * ms, 200 * ms, 400 * ms},
		},
		{
			name:   "an explicit healthy run time",
			policy: Doubling{Min: time.Second, Max: time.Minute, Healthy: 5 * time.Second},
			runs:   []time.Duration{0, 0, 5 * time.Second, 0},
			want:   []time.Duration{time.Second, 2 * time.Second, time.Second, 2 * time.Second},
		},
		{
			name:   "a zero policy waits 1 ms",
			policy: Doubling{},
			runs:   []time.Duration{0, 0},
			want:   []time.Duration{ms, ms},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Streak
			for i, ran := range tt.runs {
				var d time.Duration
				d, s = tt.policy.Next(s, ran)
				if d != tt.want[i] {
					t.Fatalf("exit %d (ran %v): got %v, want %v", i, ran, d, tt.want[i])
				}
			}
		})
	}
}

// FuzzDoubling checks the invariants for any policy and history: the
// delay stays within [max(Min,1ms), max(Max,Min)], never shrinks within a
// streak, and a healthy run brings it back to the minimum.
func FuzzDoubling(f *testing.F) {
	f.Add(int64(100e6), int64(10e9), int64(0), []byte{0, 0, 0, 200, 0})
	f.Add(int64(-1), int64(-1), int64(-1), []byte{255, 0})
	f.Add(int64(1<<62), int64(1<<62), int64(1), []byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, lo, hi, healthy int64, runs []byte) {
		d := Doubling{Min: time.Duration(lo), Max: time.Duration(hi), Healthy: time.Duration(healthy)}
		floor := max(d.Min, time.Millisecond)
		ceil := max(d.Max, floor)
		h := d.Healthy
		if h <= 0 {
			h = ceil
		}
		var s Streak
		var last time.Duration
		for i, r := range runs {
			ran := time.Duration(r) * 100 * time.Millisecond
			var delay time.Duration
			delay, s = d.Next(s, ran)
			if delay < floor || delay > ceil {
				t.Fatalf("exit %d: delay %v outside [%v, %v]", i, delay, floor, ceil)
			}
			if ran >= h && delay != floor {
				t.Fatalf("exit %d: healthy run (%v >= %v) but delay %v, want %v", i, ran, h, delay, floor)
			}
			if ran < h && i > 0 && delay < last {
				t.Fatalf("exit %d: delay shrank within a streak: %v after %v", i, delay, last)
			}
			last = delay
		}
	})
}
