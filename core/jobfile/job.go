// Package jobfile reads zdaemon's HCL job files: the schema, the loader
// that decodes a file into a config.Config, the string forms of runner
// settings used by command-line options and -X overrides, and the checks
// of a configuration against the host (CheckHost, CheckListen).
//
// It is the client's: the manager receives the decoded config.Config as
// JSON and links neither this package nor HCL. Errors about a job file are
// hcl.Diagnostics with a Subject, rendered once by the command layer.
package jobfile

import (
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/zdaemon/zdaemon/core/config"
)

// Job is a decoded job file: its configuration, and the plugin blocks
// whose bodies the client decodes against the schema each plugin declares
// (into Config.Sink and Config.Checks).
type Job struct {
	*config.Config
	// SinkBlock is the job file's transcript block (nil: none).
	SinkBlock *PluginBlock
	// CheckBlocks are the job file's healthcheck blocks, in order.
	CheckBlocks []*PluginBlock
}

// PluginBlock is a plugin block of a job file, not yet decoded: its body
// is checked against the schema the plugin declares.
type PluginBlock struct {
	Kind        string
	Plugin      string // the plugin attribute, "" for a built-in
	PluginRange hcl.Range
	Body        hcl.Body // the rest of the block
	DefRange    hcl.Range
	// Interval and Timeout of a healthcheck block (0 = default).
	Interval, Timeout time.Duration
	// Liveness is a healthcheck block's liveness block (nil: none).
	Liveness *config.Liveness
}

// source records where a job file gave the setting key.
func source(c *config.Config, key string, rng hcl.Range) {
	if c.Sources == nil {
		c.Sources = map[string]config.Range{}
	}
	c.Sources[key] = FromHCL(rng)
}

// FromHCL is the config.Range of an hcl.Range.
func FromHCL(r hcl.Range) config.Range {
	return config.Range{
		Filename: r.Filename,
		Start:    config.Pos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
		End:      config.Pos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte},
	}
}

// HCLRange is the hcl.Range of a config.Range, for a diagnostic's Subject.
func HCLRange(r config.Range) hcl.Range {
	return hcl.Range{
		Filename: r.Filename,
		Start:    hcl.Pos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
		End:      hcl.Pos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte},
	}
}
