package backoff

import (
	"testing"
	"time"
)

func TestNextSequence(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		runs   []time.Duration
		want   []Decision
	}{
		{
			name:   "limit 4 gives up after four quick crashes",
			policy: Policy{Limit: 4},
			runs:   []time.Duration{0, 0, 0, 0},
			want:   []Decision{{Delay: time.Second}, {Delay: 2 * time.Second}, {Delay: 3 * time.Second}, {GiveUp: true}},
		},
		{
			name:   "forever caps the delay at the limit",
			policy: Policy{Limit: 3, Forever: true},
			runs:   []time.Duration{0, 0, 0, 0, 0},
			want:   []Decision{{Delay: time.Second}, {Delay: 2 * time.Second}, {Delay: 3 * time.Second}, {Delay: 3 * time.Second}, {Delay: 3 * time.Second}},
		},
		{
			name:   "a long run resets the count and waits 1 s",
			policy: Policy{Limit: 3},
			runs:   []time.Duration{0, 0, 5 * time.Second, 0, 3 * time.Second, 2999 * time.Millisecond, 0},
			want: []Decision{{Delay: time.Second}, {Delay: 2 * time.Second}, {Delay: time.Second},
				{Delay: time.Second}, {Delay: time.Second}, {Delay: time.Second}, {Delay: 2 * time.Second}},
		},
		{
			name:   "limit 1: a quick crash gives up at once",
			policy: Policy{Limit: 1},
			runs:   []time.Duration{10 * time.Millisecond},
			want:   []Decision{{GiveUp: true}},
		},
		{
			name:   "limit 1: runs of 1.5 s restart after 1 s forever",
			policy: Policy{Limit: 1},
			runs:   []time.Duration{1500 * time.Millisecond, 1500 * time.Millisecond, 1500 * time.Millisecond},
			want:   []Decision{{Delay: time.Second}, {Delay: time.Second}, {Delay: time.Second}},
		},
		{
			name:   "limit below one acts as one",
			policy: Policy{Limit: 0},
			runs:   []time.Duration{0},
			want:   []Decision{{GiveUp: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s State
			for i, ran := range tt.runs {
				var d Decision
				d, s = tt.policy.Next(s, ran)
				if d != tt.want[i] {
					t.Fatalf("exit %d (ran %v): got %+v, want %+v", i, ran, d, tt.want[i])
				}
			}
		})
	}
}

func TestDefaultTimeline(t *testing.T) {
	// The original with the default limit 10 starts at t = 0,1,3,6,10,15,21,28,36,45.
	p := Policy{Limit: 10}
	var s State
	at, starts := time.Duration(0), []time.Duration{0}
	for {
		d, ns := p.Next(s, 0)
		s = ns
		if d.GiveUp {
			break
		}
		at += d.Delay
		starts = append(starts, at)
	}
	want := []int{0, 1, 3, 6, 10, 15, 21, 28, 36, 45}
	if len(starts) != len(want) {
		t.Fatalf("got %d starts %v, want %v", len(starts), starts, want)
	}
	for i, w := range want {
		if starts[i] != time.Duration(w)*time.Second {
			t.Fatalf("start %d at %v, want %ds", i, starts[i], w)
		}
	}
}

func FuzzNext(f *testing.F) {
	f.Add(10, false, int64(0), 3)
	f.Add(1, true, int64(time.Second), 100)
	f.Fuzz(func(t *testing.T, limit int, forever bool, ran int64, n int) {
		if n < 0 || n > 1000 {
			return
		}
		p := Policy{Limit: limit, Forever: forever}
		var s State
		for range n {
			var d Decision
			d, s = p.Next(s, time.Duration(ran))
			if d.Delay < 0 || d.Delay > time.Duration(max(limit, 1))*time.Second {
				t.Fatalf("delay %v out of range for limit %d", d.Delay, limit)
			}
			if d.GiveUp && forever {
				t.Fatal("gave up with forever")
			}
			if d.GiveUp && time.Duration(ran) >= time.Duration(max(limit, 1))*time.Second {
				t.Fatal("gave up after a long run")
			}
			if !d.GiveUp && d.Delay == 0 {
				t.Fatal("restart without a delay")
			}
			if d.GiveUp {
				return
			}
		}
	})
}
