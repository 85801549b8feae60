package manager

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/control"
	"github.com/zdaemon/zdaemon/core/controlproto"
	"github.com/zdaemon/zdaemon/core/report"
)

// status-json and metrics-json carry the sink's report, asked off the
// loop: what it says when it answers, and nothing but why when it does
// not; without a sink to ask, status-json stays a quick request.
func TestStatusJSONAsksTheSink(t *testing.T) {
	for _, tc := range []struct {
		name      string
		st        SinkStatus
		running   bool
		wantBytes *uint64
		wantDest  string
		wantErr   string
	}{
		{name: "answered", running: true, st: SinkStatus{Known: true, BytesWritten: 42, Destination: "/srv/out.log"},
			wantBytes: ptr(uint64(42)), wantDest: "/srv/out.log"},
		{name: "zero bytes", running: true, st: SinkStatus{Known: true, Destination: "/srv/out.log"},
			wantBytes: ptr(uint64(0)), wantDest: "/srv/out.log"},
		{name: "write error", running: true, st: SinkStatus{Known: true, BytesWritten: 7, Destination: "/dev/full", Error: "no space left on device"},
			wantBytes: ptr(uint64(7)), wantDest: "/dev/full", wantErr: "no space left on device"},
		{name: "no answer", running: true, st: SinkStatus{Error: "the transcript sink did not report within 500ms"},
			wantErr: "the transcript sink did not report within 500ms"},
		{name: "no sink runs", running: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := New(testConfig(nil), &fakeStarter{}, Options{
					Details: func() report.Details {
						return report.Details{Transcript: &report.TranscriptInfo{Path: "out.log", Sink: "file"}}
					},
					SinkStatus: func(context.Context) (SinkStatus, bool) { return tc.st, tc.running },
				})
				codec := make(chan int, 1)
				go func() { codec <- m.Run(context.Background()) }()
				synctest.Wait()
				if m.Quick(control.Request{Name: "status-json"}) {
					t.Error("status-json is quick although it asks the sink")
				}
				var info report.Info
				if err := json.Unmarshal([]byte(req(m, "status-json")), &info); err != nil {
					t.Fatal(err)
				}
				tr := info.Transcript
				if info.Schema != report.StatusSchema || tr == nil || tr.Path != "out.log" || !equalPtr(tr.BytesWritten, tc.wantBytes) ||
					tr.Destination != tc.wantDest || tr.Error != tc.wantErr {
					t.Errorf("transcript %+v (bytes %v)", tr, deref(tr.BytesWritten))
				}
				var snap Snapshot
				if err := json.Unmarshal([]byte(req(m, "metrics-json")), &snap); err != nil {
					t.Fatal(err)
				}
				if !equalPtr(snap.TranscriptBytes, tc.wantBytes) {
					t.Errorf("metrics transcript bytes %v, want %v", deref(snap.TranscriptBytes), deref(tc.wantBytes))
				}
				req(m, "stop")
				<-codec
			})
		})
	}
	m := New(testConfig(nil), &fakeStarter{}, Options{})
	if !m.Quick(control.Request{Name: "status-json"}) {
		t.Error("status-json of a job without a sink is not quick")
	}
}

// A sink that does not answer holds up only the requests that ask it:
// the loop goes on (status, history, stop), and status-json waits for
// SinkStatus alone (which bounds its own wait).
func TestSinkStatusOffTheLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		m := New(testConfig(nil), &fakeStarter{}, Options{
			Details: func() report.Details { return report.Details{Transcript: &report.TranscriptInfo{Sink: "file"}} },
			SinkStatus: func(ctx context.Context) (SinkStatus, bool) {
				<-release
				return SinkStatus{Error: "it did not answer"}, true
			},
		})
		codec := make(chan int, 1)
		go func() { codec <- m.Run(context.Background()) }()
		synctest.Wait()
		reply := make(chan string, 1)
		go func() { reply <- req(m, "status-json") }()
		synctest.Wait()
		if st, _ := controlproto.ParseStatus(req(m, "status")); st.Application != 100 {
			t.Fatalf("status while the sink hangs: %+v", st)
		}
		if got := req(m, "history 1"); got == "" {
			t.Fatal("history while the sink hangs: no answer")
		}
		select {
		case r := <-reply:
			t.Fatalf("status-json answered before the sink: %q", r)
		default:
		}
		close(release)
		var info report.Info
		if err := json.Unmarshal([]byte(<-reply), &info); err != nil {
			t.Fatal(err)
		}
		if info.Transcript.BytesWritten != nil || info.Transcript.Error != "it did not answer" {
			t.Errorf("transcript %+v", info.Transcript)
		}
		req(m, "stop")
		<-codec
	})
}

// passingProber passes each start test after the tries the test gives,
// one second apart, and reports it as pluginhost's Prober does.
type passingProber struct{ tries []int }

func (p *passingProber) Idle() {}

func (p *passingProber) Probe(ctx context.Context, _ int, _ time.Time, passed func(int, time.Duration, int)) <-chan struct{} {
	up := make(chan struct{})
	go func() {
		for i, n := range p.tries {
			began := time.Now()
			select {
			case <-time.After(time.Duration(n-1) * time.Second):
			case <-ctx.Done():
				return
			}
			passed(i, time.Since(began), n)
		}
		close(up)
	}()
	return up
}

// How each start test last passed reaches status -json's checks and the
// metrics snapshot: how long it took and its tries; nothing before.
func TestStartTestLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(func(c *config.Config) {
			c.StartTest = &config.CheckConfig{PluginConfig: config.PluginConfig{Kind: "tcp"}}
			c.Checks = []config.CheckConfig{{PluginConfig: config.PluginConfig{Kind: "http", Plugin: "/opt/check"}}}
		})
		m := New(cfg, &fakeStarter{}, Options{Prober: &passingProber{tries: []int{3, 1}}})
		codec := make(chan int, 1)
		go func() { codec <- m.Run(context.Background()) }()
		synctest.Wait()
		var before report.Info
		_ = json.Unmarshal([]byte(req(m, "status-json")), &before)
		if len(before.Checks) != 2 || before.Checks[0].StartTest != nil || before.Checks[1].StartTest != nil {
			t.Fatalf("checks before they passed: %+v", before.Checks)
		}
		up := make(chan string, 1)
		go func() { up <- req(m, "await up 0") }()
		<-up
		var info report.Info
		_ = json.Unmarshal([]byte(req(m, "status-json")), &info)
		for i, want := range []report.StartTestInfo{{LastSeconds: 2, LastTries: 3}, {LastSeconds: 0, LastTries: 1}} {
			got := info.Checks[i].StartTest
			if got == nil || got.LastPassed == nil || got.LastSeconds != want.LastSeconds || got.LastTries != want.LastTries {
				t.Errorf("check %d: start test %+v, want %+v", i, got, want)
			}
		}
		var snap Snapshot
		_ = json.Unmarshal([]byte(req(m, "metrics-json")), &snap)
		want := []StartTestMetrics{{Index: 0, Kind: "tcp", Seconds: 2, Tries: 3}, {Index: 1, Kind: "http (/opt/check)", Seconds: 0, Tries: 1}}
		if len(snap.StartTests) != 2 || snap.StartTests[0] != want[0] || snap.StartTests[1] != want[1] {
			t.Errorf("metrics start tests %+v, want %+v", snap.StartTests, want)
		}
		req(m, "stop")
		<-codec
	})
}

func ptr[T any](v T) *T { return &v }

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
