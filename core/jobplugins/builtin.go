package jobplugins

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/zdaemon/zdaemon/core/describe"
	"github.com/zdaemon/zdaemon/core/pluginhost"
	"github.com/zdaemon/zdaemon/plugins/healthcheck"
	"github.com/zdaemon/zdaemon/plugins/healthcheck/builtin"
	"github.com/zdaemon/zdaemon/plugins/schema"
	"github.com/zdaemon/zdaemon/plugins/transcript"
	"github.com/zdaemon/zdaemon/plugins/transcript/logfile"
)

// builtinSinks are the transcript sinks the manager executable serves
// itself.
var builtinSinks = map[string]struct {
	schema   func() transcript.Schema
	validate func(transcript.Config) []transcript.FieldError
	serve    func()
}{
	"file": {logfile.Schema, logfile.Validate, func() { transcript.Serve(&logfile.Sink{Logger: pluginLogger()}, nil) }},
}

// ServePlugin serves the built-in plugin of a kind ("transcript",
// "healthcheck") and name over go-plugin's protocol, until its host lets
// it go; false says there is no such built-in.
func ServePlugin(kind, name string) bool {
	switch kind {
	case "transcript":
		if b, ok := builtinSinks[name]; ok {
			b.serve()
			return true
		}
	case "healthcheck":
		if mk, ok := builtin.Checks[name]; ok {
			healthcheck.Serve(mk(), pluginLogger())
			return true
		}
	}
	return false
}

// pluginLogger is a built-in plugin's logger: JSON lines on stderr, which
// go-plugin forwards into the manager's event log.
func pluginLogger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Info})
}

// builtinSchema describes a built-in plugin; ok is false when there is
// none of that kind and name.
func builtinSchema(kind, name string) (sch schema.Schema, validate func(schema.Config) []schema.FieldError, ok bool) {
	switch kind {
	case "transcript":
		if b, ok := builtinSinks[name]; ok {
			return b.schema(), b.validate, true
		}
	case "healthcheck":
		if mk, ok := builtin.Checks[name]; ok {
			c := mk()
			sch, _ := c.Schema(context.Background())
			return sch, func(cfg schema.Config) []schema.FieldError { return c.Validate(context.Background(), cfg) }, true
		}
	}
	return schema.Schema{}, nil, false
}

// describeTimeout bounds starting an external plugin and asking it for its
// schema and verdict (the client bounds the session by more).
const describeTimeout = 15 * time.Second

// Describe answers a describe session (see package describe) read from r
// and written to w: built-in plugins here, external ones in a throw-away
// plugin process each; exe is the manager executable. It returns at the
// end of r.
func Describe(r io.Reader, w io.Writer, exe string) error {
	in := bufio.NewScanner(r)
	in.Buffer(nil, 16<<20)
	enc := json.NewEncoder(w)
	var validate func(schema.Config) []schema.FieldError
	kill := func() {}
	defer func() { kill() }()
	for in.Scan() {
		var req describe.Request
		var resp describe.Response
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			return fmt.Errorf("describe: bad request: %w", err)
		}
		switch req.Op {
		case "schema":
			kill()
			kill, validate = func() {}, nil
			var sch schema.Schema
			var err error
			sch, validate, kill, err = describePlugin(req, exe)
			switch {
			case errors.Is(err, describe.ErrUnknown):
				resp.Unknown = true
			case err != nil:
				resp.Error = err.Error()
			default:
				resp.Schema = toWire(sch)
			}
		case "validate":
			if validate == nil {
				resp.Error = "no plugin described"
				break
			}
			for _, fe := range validate(schema.Config(req.Settings)) {
				resp.Errors = append(resp.Errors, describe.FieldError{Field: fe.Field, Message: fe.Message})
			}
		default:
			return fmt.Errorf("describe: unknown request %q", req.Op)
		}
		if err := enc.Encode(resp); err != nil {
			return fmt.Errorf("describe: %w", err)
		}
	}
	return in.Err()
}

// describePlugin finds the schema and the validation of one plugin; kill
// ends the plugin's process, if it has one.
func describePlugin(req describe.Request, exe string) (schema.Schema, func(schema.Config) []schema.FieldError, func(), error) {
	if req.Plugin == "" {
		sch, validate, ok := builtinSchema(req.Kind, req.Label)
		if !ok {
			return schema.Schema{}, nil, func() {}, describe.ErrUnknown
		}
		return sch, validate, func() {}, nil
	}
	plugin := req.Plugin
	if abs, err := filepath.Abs(plugin); err == nil {
		plugin = abs
	}
	host := &pluginhost.Host{Exe: exe, StartTimeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), describeTimeout)
	sch, validate, kill, err := host.Describe(ctx, req.Kind, pluginhost.Spec{Kind: req.Label, Path: plugin})
	if err != nil {
		cancel()
		return schema.Schema{}, nil, func() {}, err
	}
	return sch, validate, func() { kill(); cancel() }, nil
}

func toWire(sch schema.Schema) *describe.Schema {
	out := &describe.Schema{Attributes: []describe.Attribute{}}
	for _, a := range sch.Attributes {
		out.Attributes = append(out.Attributes, describe.Attribute{Name: a.Name, Type: a.Type, Required: a.Required})
	}
	return out
}
