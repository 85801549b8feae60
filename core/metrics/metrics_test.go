package metrics

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/zdaemon/zdaemon/core/manager"
	"github.com/zdaemon/zdaemon/core/report"
)

func TestText(t *testing.T) {
	four, bytes := 4, uint64(123456789)
	for _, tc := range []struct {
		name string
		snap manager.Snapshot
		ok   bool
		want []string
		not  []string
	}{
		{name: "running", ok: true, snap: manager.Snapshot{State: "running", Up: true, Starts: 3, SinkRestarts: &four, TranscriptBytes: &bytes, ControlRequests: 12,
			StartTests: []manager.StartTestMetrics{{Index: 1, Kind: "tcp", Seconds: 1.5, Tries: 4}},
			Checks:     []manager.CheckMetrics{{Index: 0, Kind: "http", Tried: true, LastOK: false, FailuresInARow: 2, Restarts: 1, LastSeconds: 0.25}, {Index: 1, Kind: "tcp"}},
			Exits:      map[string]int{report.EndedExit: 2}, HasExit: true, LastExitCode: 5,
			ProgramStart: time.Now().Add(-time.Minute), ManagerStart: time.Now().Add(-time.Hour)},
			want: []string{"zdaemon_program_up 1\n", "zdaemon_program_starts_total 3\n", `zdaemon_program_exits_total{reason="exit"} 2`,
				`zdaemon_program_exits_total{reason="signal"} 0`, "zdaemon_program_last_exit_code 5\n",
				`zdaemon_program_state{state="running"} 1`, `zdaemon_program_state{state="backoff"} 0`,
				"zdaemon_transcript_sink_restarts_total 4\n", "zdaemon_transcript_bytes_total 1.23456789e+08\n", "process_open_fds 7\n", "zdaemon_control_requests_total 12\n",
				`zdaemon_check_up{check="1",kind="http"} 0`, `zdaemon_check_failures_in_a_row{check="1",kind="http"} 2`,
				`zdaemon_check_restarts_total{check="1",kind="http"} 1`, `zdaemon_check_duration_seconds{check="1",kind="http"} 0.25`, `zdaemon_check_failures_in_a_row{check="2",kind="tcp"} 0`,
				`zdaemon_start_test_duration_seconds{check="2",kind="tcp"} 1.5`, `zdaemon_start_test_tries{check="2",kind="tcp"} 4`},
			not: []string{`zdaemon_check_up{check="2"`, `zdaemon_start_test_duration_seconds{check="1"`}},
		{name: "backoff", ok: true, snap: manager.Snapshot{State: "backoff", Starts: 1, BackoffDelay: 2 * time.Second, BackoffCount: 1},
			want: []string{"zdaemon_program_up 0\n", "zdaemon_backoff_delay_seconds 2\n", "zdaemon_program_uptime_seconds 0\n"},
			not:  []string{"zdaemon_program_last_exit_code", "zdaemon_transcript_sink_restarts_total", "zdaemon_transcript_bytes_total", "zdaemon_start_test"}},
		{name: "manager gone", ok: false, not: []string{"zdaemon_program_up"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := tc.snap
			snap.Process.OpenFDs = 7
			reg := Registry(func(context.Context) (manager.Snapshot, bool) { return snap, tc.ok })
			text, err := Text(reg)
			if err != nil {
				t.Fatal(err)
			}
			p := expfmt.NewTextParser(model.UTF8Validation)
			if _, err := p.TextToMetricFamilies(strings.NewReader(text)); err != nil {
				t.Fatalf("the Prometheus parser rejects it: %v\n%s", err, text)
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("no %q in\n%s", w, text)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(text, w) {
					t.Errorf("%q in\n%s", w, text)
				}
			}
		})
	}
}
