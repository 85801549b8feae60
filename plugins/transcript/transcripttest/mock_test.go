package transcripttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/zdaemon/zdaemon/plugins/transcript"
)

// The mock behind a real gRPC connection: calls and values cross the wire.
func TestMockOverGRPC(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	got := make(chan string, 1)
	mock := &MockSink{
		SchemaFn: func(context.Context) (transcript.Schema, error) {
			return transcript.Schema{Attributes: []transcript.Attribute{{Name: "path", Type: transcript.TypeString, Required: true}}}, nil
		},
		ValidateFn: func(_ context.Context, cfg transcript.Config) []transcript.FieldError {
			if cfg.String("path", "") == "" {
				return []transcript.FieldError{{Field: "path", Message: "missing"}}
			}
			return nil
		},
		StartFn: func(_ context.Context, cfg transcript.Config, in io.Reader) error {
			go func() {
				data, _ := io.ReadAll(in)
				got <- cfg.String("path", "") + ":" + string(data)
			}()
			return nil
		},
		StatusFn: func(context.Context) (transcript.Status, error) {
			return transcript.Status{BytesWritten: 42, Destination: "x"}, nil
		},
	}
	sink := transcript.TestSink(t, mock, r)
	ctx := context.Background()
	sch, err := sink.Schema(ctx)
	if err != nil || len(sch.Attributes) != 1 || !sch.Attributes[0].Required {
		t.Fatalf("schema %+v, %v", sch, err)
	}
	if errs := sink.Validate(ctx, transcript.Config{}); len(errs) != 1 || errs[0].Field != "path" {
		t.Fatalf("validate %v", errs)
	}
	if err := sink.Start(ctx, transcript.Config{"path": "p"}, nil); err != nil {
		t.Fatal(err)
	}
	w.WriteString("bytes")
	w.Close()
	if s := <-got; s != "p:bytes" {
		t.Fatalf("sink read %q", s)
	}
	if st, err := sink.Status(ctx); err != nil || st.BytesWritten != 42 {
		t.Fatalf("status %+v, %v", st, err)
	}
}

// Schema and Validate answer in every protocol version (1: through the
// sink service, 2: through the base service), and a plugin's error comes
// back in its own words, without gRPC's.
func TestBaseCallsEveryVersion(t *testing.T) {
	for _, version := range []int{1, 2} {
		t.Run(fmt.Sprint("version ", version), func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			defer w.Close()
			fail := false
			mock := &MockSink{
				SchemaFn: func(context.Context) (transcript.Schema, error) {
					if fail {
						return transcript.Schema{}, errors.New("no schema today")
					}
					return transcript.Schema{Attributes: []transcript.Attribute{{Name: "path", Type: transcript.TypeString}}}, nil
				},
				ValidateFn: func(context.Context, transcript.Config) []transcript.FieldError {
					return []transcript.FieldError{{Field: "path", Message: "missing"}}
				},
				ReopenFn: func(context.Context) error { return errors.New("disk gone") },
			}
			sink := transcript.TestSinkVersion(t, mock, r, version)
			ctx := context.Background()
			if sch, err := sink.Schema(ctx); err != nil || len(sch.Attributes) != 1 || sch.Attributes[0].Name != "path" {
				t.Fatalf("schema %+v, %v", sch, err)
			}
			if errs := sink.Validate(ctx, transcript.Config{}); len(errs) != 1 || errs[0].Field != "path" {
				t.Fatalf("validate %v", errs)
			}
			fail = true
			if _, err := sink.Schema(ctx); err == nil || err.Error() != "no schema today" {
				t.Fatalf("schema error %v", err)
			}
			if err := sink.Reopen(ctx); err == nil || err.Error() != "sink reopen: disk gone" {
				t.Fatalf("reopen error %v", err)
			}
		})
	}
}
