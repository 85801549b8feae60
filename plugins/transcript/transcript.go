package transcript

import (
	"context"
	"io"
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
	// Schema declares the configuration the sink accepts.
	Schema(ctx context.Context) (Schema, error)
	// Validate checks a configuration; each problem names its field.
	Validate(ctx context.Context, cfg Config) []FieldError
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

// Config is a sink's configuration: plain values (string, float64, bool)
// by attribute name, evaluated and type-checked by the host.
type Config map[string]any

// String returns a string attribute, or def.
func (c Config) String(name, def string) string {
	if v, ok := c[name].(string); ok {
		return v
	}
	return def
}

// Number returns a number attribute, or def.
func (c Config) Number(name string, def float64) float64 {
	if v, ok := c[name].(float64); ok {
		return v
	}
	return def
}

// Bool returns a bool attribute, or def.
func (c Config) Bool(name string, def bool) bool {
	if v, ok := c[name].(bool); ok {
		return v
	}
	return def
}

// Schema lists the attributes of a sink's job-file block.
type Schema struct {
	Attributes []Attribute
}

// Attribute types.
const (
	TypeString = "string"
	TypeNumber = "number"
	TypeBool   = "bool"
)

// Attribute is one configuration attribute.
type Attribute struct {
	Name        string
	Type        string // TypeString, TypeNumber or TypeBool
	Required    bool
	Description string
}

// FieldError is a rejected configuration value.
type FieldError struct {
	Field   string
	Message string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// Status is a sink's progress.
type Status struct {
	BytesWritten uint64
	// Error is the write error the sink is retrying, "" when healthy.
	Error string
	// Destination names where the bytes go.
	Destination string
}
