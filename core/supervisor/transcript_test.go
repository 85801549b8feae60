package supervisor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zdaemon/zdaemon/core/manager"
)

// statusSink is a Sink whose Status answers st and err, or, with hang,
// never (until its ctx ends).
type statusSink struct {
	Sink
	st   manager.SinkStatus
	err  error
	hang bool
}

func (s statusSink) Status(ctx context.Context) (manager.SinkStatus, error) {
	if s.hang {
		<-ctx.Done()
		return manager.SinkStatus{}, ctx.Err()
	}
	return s.st, s.err
}

// The sink's report for status -json and metrics: what it says, or why
// it said nothing, within SinkStatusTimeout however long it hangs.
func TestTranscriptStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		pipe *transcriptPipe
		want manager.SinkStatus
		ok   bool
	}{
		{name: "no sink", pipe: nil},
		{name: "answers", ok: true,
			pipe: &transcriptPipe{sink: statusSink{st: manager.SinkStatus{BytesWritten: 42, Destination: "/x"}}},
			want: manager.SinkStatus{Known: true, BytesWritten: 42, Destination: "/x"}},
		{name: "write error", ok: true,
			pipe: &transcriptPipe{sink: statusSink{st: manager.SinkStatus{BytesWritten: 1, Destination: "/x", Error: "disk full"}}},
			want: manager.SinkStatus{Known: true, BytesWritten: 1, Destination: "/x", Error: "disk full"}},
		{name: "restarting", ok: true,
			pipe: &transcriptPipe{sink: statusSink{err: errors.New("plugin file failed to report its status: it is being restarted after it died")}},
			want: manager.SinkStatus{Error: "plugin file failed to report its status: it is being restarted after it died"}},
		{name: "hangs", ok: true, pipe: &transcriptPipe{sink: statusSink{hang: true}},
			want: manager.SinkStatus{Error: "the transcript sink did not report within 500ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			begin := time.Now()
			got, ok := tc.pipe.status(context.Background())
			if took := time.Since(begin); took > SinkStatusTimeout+time.Second {
				t.Errorf("took %v", took)
			}
			if ok != tc.ok || got != tc.want {
				t.Errorf("status %+v %v, want %+v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	if sinkStatus(nil) != nil {
		t.Error("a job without a sink has a SinkStatus")
	}
}
