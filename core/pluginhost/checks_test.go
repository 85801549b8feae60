package pluginhost

import (
	"context"
	"testing"
	"time"
)

// A try has timed out once its deadline has passed, whether or not the
// timer behind ctx.Err has run yet; a cancel is no time-out.
func TestPastDeadline(t *testing.T) {
	now := time.Now()
	live, cancelLive := context.WithDeadline(context.Background(), now.Add(time.Hour))
	defer cancelLive()
	expired, cancelExpired := context.WithDeadline(context.Background(), now.Add(-time.Second))
	defer cancelExpired()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		at   time.Time
		want bool
	}{
		{"before the deadline", live, now, false},
		{"at the deadline, its timer not yet run", live, now.Add(time.Hour), true},
		{"after the deadline, its timer not yet run", live, now.Add(2 * time.Hour), true},
		{"expired (Err says so)", expired, now.Add(-time.Hour), true},
		{"canceled, no deadline", canceled, now, false},
		{"no deadline", context.Background(), now.Add(time.Hour), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := pastDeadline(tc.ctx, tc.at); got != tc.want {
				t.Errorf("pastDeadline = %v, want %v", got, tc.want)
			}
		})
	}
}
