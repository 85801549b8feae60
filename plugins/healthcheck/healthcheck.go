package healthcheck

import (
	"context"
	"time"

	"github.com/zdaemon/zdaemon/plugins/schema"
)

// Checker decides whether the program is up.
//
// The host calls Schema and Validate (possibly on a throw-away instance,
// to check a job file), Configure once, then Check for each try.
type Checker interface {
	// Schema and Validate declare and check the check's configuration.
	schema.Base
	Configure(ctx context.Context, cfg Config) error
	// Check is one try; ctx carries the try's deadline.
	Check(ctx context.Context, req Request) (Result, error)
}

// Request describes the program being started.
type Request struct {
	Pid     int
	Started time.Time
}

// Result is the outcome of one try.
type Result struct {
	Healthy bool
	Message string
}

// The configuration types are shared by every plugin kind.
type (
	Config     = schema.Config
	Schema     = schema.Schema
	Attribute  = schema.Attribute
	FieldError = schema.FieldError
)

// Attribute types.
const (
	TypeString = schema.TypeString
	TypeNumber = schema.TypeNumber
	TypeBool   = schema.TypeBool
)
