package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/pluginhost"
	"github.com/zdaemon/zdaemon/plugins/healthcheck"
	"github.com/zdaemon/zdaemon/plugins/healthcheck/builtin"
	"github.com/zdaemon/zdaemon/plugins/schema"
	"github.com/zdaemon/zdaemon/plugins/transcript"
	"github.com/zdaemon/zdaemon/plugins/transcript/logfile"
)

// builtinSinks are the transcript sinks this binary serves itself.
var builtinSinks = map[string]struct {
	schema   func() transcript.Schema
	validate func(transcript.Config) []transcript.FieldError
	serve    func()
}{
	"file": {logfile.Schema, logfile.Validate, func() { transcript.Serve(&logfile.Sink{Logger: pluginLogger()}, nil) }},
}

// PluginCommand is the hidden entry point of the built-in plugins:
// "zdaemon plugin transcript file". go-plugin starts it; it never runs by
// hand.
type PluginCommand struct{ *Meta }

func (c *PluginCommand) Synopsis() string { return "Serve a built-in plugin (internal)" }
func (c *PluginCommand) Help() string {
	return `Usage: zdaemon plugin transcript|healthcheck KIND

  Serves a built-in plugin over go-plugin's protocol. The manager starts
  it; running it by hand only prints a notice.

Exit status:
  1  wrong arguments, or no such built-in plugin`
}

// PluginArgs are plugin's: the plugin's kind and name.
type PluginArgs struct{ Kind, Name string }

func (c *PluginCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

// ParseArgs takes KIND and NAME; anything else prints the help on stderr
// (exit 1).
func (c *PluginCommand) ParseArgs(args []string) (*PluginArgs, int) {
	args = words(args)
	if len(args) != 2 {
		c.Ui.Error(c.Help())
		return nil, 1
	}
	return &PluginArgs{Kind: args[0], Name: args[1]}, 0
}

func (c *PluginCommand) RunContext(_ context.Context, a *PluginArgs) int {
	if a.Kind == "transcript" {
		if b, ok := builtinSinks[a.Name]; ok {
			b.serve()
			return 0
		}
	}
	if a.Kind == "healthcheck" {
		if mk, ok := builtin.Checks[a.Name]; ok {
			healthcheck.Serve(mk(), pluginLogger())
			return 0
		}
	}
	c.Ui.Error(c.Help())
	return 1
}

// resolveSink decides the job's transcript sink: a transcript block
// (decoded against the sink's schema), or the transcript setting (the -t
// option or runner key) as the built-in file sink. tOption says -t was
// given, which overrides a block.
func resolveSink(cfg *config.Config, tOption bool, exe string) hcl.Diagnostics {
	block := cfg.SinkBlock
	path := cfg.Transcript
	switch {
	case block != nil && tOption:
		block = nil // the command line wins
	case block != nil && path != "" && path != config.DefaultTranscript:
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Two transcripts",
			Detail:   "The runner's transcript setting and a transcript block both choose the transcript; keep one.",
			Subject:  block.DefRange.Ptr(),
		}}
	}
	if block == nil {
		cfg.Sink = nil
		if path == "" || path == config.DefaultTranscript {
			return nil // discarded, as the original does
		}
		settings := transcript.Config{"path": path}
		if errs := logfile.Validate(settings); len(errs) > 0 {
			return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid transcript", Detail: errs[0].Error()}}
		}
		cfg.Sink = &config.PluginConfig{Kind: "file", Settings: settings}
		return nil
	}
	pc, diags := decodePluginBlock(block, sinkKind, exe)
	if !diags.HasErrors() {
		cfg.Sink = pc
	}
	return diags
}

// pluginKind is what decoding a plugin block needs to know of its kind.
type pluginKind struct {
	name     string // the pluginhost kind: "transcript", "healthcheck"
	noun     string // in messages: "sink", "check"
	unknown  string // the summary for an unknown built-in ("Unknown transcript sink %q")
	builtins string // the detail listing the built-ins
	failed   string // the summary when an external plugin cannot describe itself
	// builtin describes a built-in kind; ok is false when there is none.
	builtin func(kind string) (sch schema.Schema, validate func(schema.Config) []schema.FieldError, ok bool)
}

var sinkKind = pluginKind{
	name: "transcript", noun: "sink",
	unknown:  "Unknown transcript sink %q",
	builtins: "The built-in sink is \"file\"; for your own, name its executable with plugin = \"/path/to/sink\".",
	failed:   "Transcript plugin failed",
	builtin: func(kind string) (schema.Schema, func(schema.Config) []schema.FieldError, bool) {
		b, ok := builtinSinks[kind]
		if !ok {
			return schema.Schema{}, nil, false
		}
		return b.schema(), b.validate, true
	},
}

var checkKind = pluginKind{
	name: "healthcheck", noun: "check",
	unknown:  "Unknown health check %q",
	builtins: "Built-in checks are program, tcp, unix, http and notify; for your own, name its executable with plugin = \"/path/to/check\".",
	failed:   "Health-check plugin failed",
	builtin: func(kind string) (schema.Schema, func(schema.Config) []schema.FieldError, bool) {
		mk, ok := builtin.Checks[kind]
		if !ok {
			return schema.Schema{}, nil, false
		}
		c := mk()
		sch, _ := c.Schema(context.Background())
		return sch, func(cfg schema.Config) []schema.FieldError { return c.Validate(context.Background(), cfg) }, true
	},
}

// decodePluginBlock checks a plugin block against the schema its plugin
// declares (a built-in's here, an external one's from a throw-away plugin
// process) and the plugin's own validation, with every error at its
// attribute, and returns the plugin with its evaluated settings.
func decodePluginBlock(block *config.PluginBlock, pk pluginKind, exe string) (*config.PluginConfig, hcl.Diagnostics) {
	plugin := block.Plugin
	var sch schema.Schema
	var validate func(schema.Config) []schema.FieldError
	if plugin == "" {
		var ok bool
		if sch, validate, ok = pk.builtin(block.Kind); !ok {
			return nil, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf(pk.unknown, block.Kind),
				Detail:   pk.builtins,
				Subject:  block.DefRange.Ptr(),
			}}
		}
	} else {
		if abs, err := filepath.Abs(plugin); err == nil {
			plugin = abs
		}
		host := &pluginhost.Host{Exe: exe, StartTimeout: 10 * time.Second}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		s, v, kill, err := host.Describe(ctx, pk.name, pluginhost.Spec{Kind: block.Kind, Path: plugin})
		if err != nil {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: pk.failed, Detail: err.Error(), Subject: block.PluginRange.Ptr()}}
		}
		defer kill()
		sch, validate = s, v
	}
	settings, attrs, diags := decodePluginBody(block, sch)
	if diags.HasErrors() {
		return nil, diags
	}
	for _, fe := range validate(settings) {
		diags = append(diags, fieldDiag(block, attrs, pk.noun, fe))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return &config.PluginConfig{Kind: block.Kind, Plugin: plugin, Settings: settings}, diags
}

// decodePluginBody evaluates a plugin block's body against the schema the
// plugin declared, so that type errors point at the attribute.
func decodePluginBody(block *config.PluginBlock, sch schema.Schema) (schema.Config, hcl.Attributes, hcl.Diagnostics) {
	bs := &hcl.BodySchema{}
	types := map[string]cty.Type{}
	for _, a := range sch.Attributes {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: a.Name, Required: a.Required})
		switch a.Type {
		case schema.TypeNumber:
			types[a.Name] = cty.Number
		case schema.TypeBool:
			types[a.Name] = cty.Bool
		default:
			types[a.Name] = cty.String
		}
	}
	content, diags := block.Body.Content(bs)
	settings := schema.Config{}
	for name, attr := range content.Attributes {
		v, more := attr.Expr.Value(nil)
		diags = append(diags, more...)
		if more.HasErrors() {
			continue
		}
		cv, err := convert.Convert(v, types[name])
		if err != nil || cv.IsNull() || !cv.IsWhollyKnown() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid " + name,
				Detail:   fmt.Sprintf("%s must be a %s.", name, types[name].FriendlyName()),
				Subject:  attr.Expr.Range().Ptr(),
			})
			continue
		}
		switch types[name] {
		case cty.Number:
			f, _ := cv.AsBigFloat().Float64()
			settings[name] = f
		case cty.Bool:
			settings[name] = cv.True()
		default:
			settings[name] = cv.AsString()
		}
	}
	return settings, content.Attributes, diags
}

// fieldDiag points a plugin's field error at its attribute, or at the
// block when the attribute is absent.
func fieldDiag(block *config.PluginBlock, attrs hcl.Attributes, what string, fe schema.FieldError) *hcl.Diagnostic {
	subject := block.DefRange
	if a, ok := attrs[fe.Field]; ok {
		subject = a.Expr.Range()
	}
	field := fe.Field
	if field == "" {
		field = "configuration"
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid " + field,
		Detail:   fmt.Sprintf("The %s %s rejects %s: %s.", block.Kind, what, field, strings.TrimSuffix(fe.Message, ".")),
		Subject:  subject.Ptr(),
	}
}

// pluginLogger is a built-in plugin's logger: JSON lines on stderr, which
// go-plugin forwards into the manager's event log.
func pluginLogger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Info})
}

// sinkDiags resolves the job's transcript sink and renders problems.
func (m *Meta) sinkDiags() error {
	if m.sinkResolved {
		return nil
	}
	m.sinkResolved = true
	tOption := false
	for _, s := range m.Opts.Settings {
		tOption = tOption || s.Key == "transcript"
	}
	diags := resolveSink(m.Cfg, tOption, ownExecutable())
	diags = append(diags, resolveChecks(m.Cfg, ownExecutable())...)
	writeDiags(m.Err, m.Files, diags)
	if diags.HasErrors() {
		return &exitError{code: 2}
	}
	return nil
}

// pluginMessage is what the user reads of a plugin's failure: the
// plugin's own words when it refused a call (its open error names the
// file), the whole chain otherwise (which plugin, which call, what became
// of it).
func pluginMessage(err error) string {
	var ce *schema.CallError
	if errors.As(err, &ce) && ce.Own {
		return ce.Msg
	}
	return err.Error()
}

// ownExecutable is this binary, for built-in plugins.
func ownExecutable() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return exe
}

// resolveChecks decodes the job's healthcheck blocks against each check's
// schema and validates them (built-ins here, external plugins in a
// throw-away process), and checks start-test-program.
func resolveChecks(cfg *config.Config, exe string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	cfg.Checks = nil
	if cfg.StartTest != nil {
		p := builtin.Checks["program"]()
		for _, fe := range p.Validate(context.Background(), cfg.StartTest.Settings) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid start-test-program", Detail: fe.Message})
		}
	}
	for _, block := range cfg.CheckBlocks {
		pc, more := decodePluginBlock(block, checkKind, exe)
		diags = append(diags, more...)
		if pc == nil {
			continue
		}
		cc := config.CheckConfig{
			PluginConfig: *pc,
			Interval:     block.Interval,
			Timeout:      block.Timeout,
		}
		if cc.Interval == 0 {
			cc.Interval = config.DefaultCheckInterval
		}
		if cc.Timeout == 0 {
			cc.Timeout = config.DefaultCheckTimeout
		}
		cfg.Checks = append(cfg.Checks, cc)
	}
	return diags
}
