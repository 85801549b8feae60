package transcript

import (
	"context"
	"io"

	"github.com/zdaemon/zdaemon/plugins/schema"
)

// InputFD is the descriptor on which a sink process finds the read end of
// the output pipe.
const InputFD = 3

// Sink moves bytes from the output pipe to a destination.
//
// The host calls Schema and Validate (possibly on a throw-away instance,
// to check a job file), then Start once, then any number of Reopen and
// Status calls, and Drain when the manager exits.
type Sink interface {
	// Schema and Validate declare and check the sink's configuration.
	schema.Base
	// Start applies cfg and starts copying from in until it reports EOF.
	// It returns once copying has started.
	Start(ctx context.Context, cfg Config, in io.Reader) error
	// Reopen reopens the destination, for log rotation.
	Reopen(ctx context.Context) error
	// Status reports progress and the current error, if any.
	Status(ctx context.Context) (Status, error)
	// Drain waits until the input reached EOF and everything read was
	// written, or ctx ends.
	Drain(ctx context.Context) (Status, error)
}

// The configuration types are shared by every plugin kind.
type (
	// Config is a sink's configuration: plain values by attribute name.
	Config = schema.Config
	// Schema lists the attributes of a sink's job-file block.
	Schema = schema.Schema
	// Attribute is one configuration attribute.
	Attribute = schema.Attribute
	// FieldError is a rejected configuration value.
	FieldError = schema.FieldError
)

// Attribute types.
const (
	TypeString = schema.TypeString
	TypeNumber = schema.TypeNumber
	TypeBool   = schema.TypeBool
)

// Status is a sink's progress.
type Status struct {
	BytesWritten uint64
	// Error is the write error the sink is retrying, "" when healthy.
	Error string
	// Destination names where the bytes go.
	Destination string
}
