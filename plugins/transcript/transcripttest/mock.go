// Package transcripttest helps test code that uses transcript sinks: a
// MockSink whose methods call function fields, and a conformance check
// that any sink implementation can run against itself.
package transcripttest

import (
	"context"
	"io"

	"github.com/zdaemon/zdaemon/plugins/transcript"
)

// MockSink is a transcript.Sink whose methods call the matching Fn field;
// a nil field does nothing and returns zero values.
type MockSink struct {
	SchemaFn   func(ctx context.Context) (transcript.Schema, error)
	ValidateFn func(ctx context.Context, cfg transcript.Config) []transcript.FieldError
	StartFn    func(ctx context.Context, cfg transcript.Config, in io.Reader) error
	ReopenFn   func(ctx context.Context) error
	StatusFn   func(ctx context.Context) (transcript.Status, error)
	DrainFn    func(ctx context.Context) (transcript.Status, error)
}

// Schema calls SchemaFn.
func (m *MockSink) Schema(ctx context.Context) (transcript.Schema, error) {
	if m.SchemaFn == nil {
		return transcript.Schema{}, nil
	}
	return m.SchemaFn(ctx)
}

// Validate calls ValidateFn.
func (m *MockSink) Validate(ctx context.Context, cfg transcript.Config) []transcript.FieldError {
	if m.ValidateFn == nil {
		return nil
	}
	return m.ValidateFn(ctx, cfg)
}

// Start calls StartFn.
func (m *MockSink) Start(ctx context.Context, cfg transcript.Config, in io.Reader) error {
	if m.StartFn == nil {
		return nil
	}
	return m.StartFn(ctx, cfg, in)
}

// Reopen calls ReopenFn.
func (m *MockSink) Reopen(ctx context.Context) error {
	if m.ReopenFn == nil {
		return nil
	}
	return m.ReopenFn(ctx)
}

// Status calls StatusFn.
func (m *MockSink) Status(ctx context.Context) (transcript.Status, error) {
	if m.StatusFn == nil {
		return transcript.Status{}, nil
	}
	return m.StatusFn(ctx)
}

// Drain calls DrainFn.
func (m *MockSink) Drain(ctx context.Context) (transcript.Status, error) {
	if m.DrainFn == nil {
		return transcript.Status{}, nil
	}
	return m.DrainFn(ctx)
}

var _ transcript.Sink = (*MockSink)(nil)
