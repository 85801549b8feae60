package command

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/daemon"
	"github.com/zdaemon/zdaemon/core/describe"
	"github.com/zdaemon/zdaemon/core/jobfile"
)

// managerName is the manager executable, found next to zdaemon.
const managerName = "zdrun"

// managerExecutable is the manager executable beside this one (symlinks
// resolved), or an error in plain words when it is not there.
func managerExecutable() (string, error) {
	self, err := os.Executable()
	if err == nil {
		self, err = filepath.EvalSymlinks(self)
	}
	if err != nil {
		return "", fmt.Errorf("cannot find the manager executable %s: %v", managerName, err)
	}
	exe := filepath.Join(filepath.Dir(self), managerName)
	if fi, err := os.Stat(exe); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("cannot find the manager executable %s next to %s", managerName, self)
	}
	return exe, nil
}

// pluginHostExecutable is zdrun-plugins beside the manager executable, or
// an error saying that what needs it cannot be done without it.
func pluginHostExecutable(what string) (string, error) {
	exe, err := managerExecutable()
	if err != nil {
		return "", err
	}
	host := daemon.PluginHost(exe)
	if host == exe {
		return "", fmt.Errorf("%s needs %s next to %s (go build -o DIR/ ./cmd/...)", what, daemon.PluginsName, exe)
	}
	return host, nil
}

// runPluginHost runs "zdrun-plugins ARGS..." with stdin, its output and
// errors ours, and returns its exit status: the work that needs a library
// the client does not link (Nomad's API types, the Prometheus encoder).
func (m *Meta) runPluginHost(stdin io.Reader, args ...string) int {
	what := strings.Join(args, " ")
	exe, err := pluginHostExecutable(what)
	if err != nil {
		return m.exit(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, m.Out, m.Err
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
		return m.exit(fmt.Errorf("cannot run %s %s: %w", exe, what, err))
	}
	return 0
}

// describer asks the manager executable about plugins, starting one
// "zdrun describe" session when first needed.
type describer struct {
	sess *describe.Session
	err  error
}

func (d *describer) session() (*describe.Session, error) {
	if d.sess == nil && d.err == nil {
		exe, err := managerExecutable()
		if err == nil {
			d.sess, err = describe.Open(daemon.PluginHost(exe))
		}
		d.err = err
	}
	return d.sess, d.err
}

// validateBuiltin asks for a built-in's schema and its verdict on
// settings.
func (d *describer) validateBuiltin(kind, label string, settings describe.Settings) ([]describe.FieldError, error) {
	s, err := d.session()
	if err != nil {
		return nil, err
	}
	if _, err := s.Schema(kind, label, ""); err != nil {
		return nil, err
	}
	return s.Validate(settings)
}

func (d *describer) close() {
	if d.sess != nil {
		d.sess.Close()
	}
}

// resolveSink decides the job's transcript sink: a transcript block
// (decoded against the sink's schema), or the transcript setting (the -t
// option or runner key) as the built-in file sink. tOption says -t was
// given, which overrides a block. The error says the manager executable
// could not be asked.
func resolveSink(cfg *jobfile.Job, tOption bool, d *describer) (*config.PluginConfig, hcl.Diagnostics, error) {
	block := cfg.SinkBlock
	path := cfg.Transcript
	switch {
	case block != nil && tOption:
		block = nil // the command line wins
	case block != nil && path != "" && path != config.DefaultTranscript:
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Two transcripts",
			Detail:   "The runner's transcript setting and a transcript block both choose the transcript; keep one.",
			Subject:  block.DefRange.Ptr(),
		}}, nil
	}
	if block == nil {
		if path == "" || path == config.DefaultTranscript {
			return nil, nil, nil // discarded, as the original does
		}
		settings := describe.Settings{"path": path}
		errs, err := d.validateBuiltin("transcript", "file", settings)
		if err != nil {
			return nil, nil, err
		}
		if len(errs) > 0 {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid transcript", Detail: errs[0].Field + ": " + errs[0].Message}}, nil
		}
		return &config.PluginConfig{Kind: "file", Settings: settings}, nil, nil
	}
	return decodePluginBlock(block, sinkKind, d)
}

// pluginKind is what decoding a plugin block needs to know of its kind.
type pluginKind struct {
	name     string // the pluginhost kind: "transcript", "healthcheck"
	noun     string // in messages: "sink", "check"
	unknown  string // the summary for an unknown built-in ("Unknown transcript sink %q")
	builtins string // the detail listing the built-ins
	failed   string // the summary when an external plugin cannot describe itself
}

var sinkKind = pluginKind{
	name: "transcript", noun: "sink",
	unknown:  "Unknown transcript sink %q",
	builtins: "The built-in sink is \"file\"; for your own, name its executable with plugin = \"/path/to/sink\".",
	failed:   "Transcript plugin failed",
}

var checkKind = pluginKind{
	name: "healthcheck", noun: "check",
	unknown:  "Unknown health check %q",
	builtins: "Built-in checks are program, tcp, unix, http and notify; for your own, name its executable with plugin = \"/path/to/check\".",
	failed:   "Health-check plugin failed",
}

// decodePluginBlock checks a plugin block against the schema its plugin
// declares and the plugin's own validation, both asked of the manager
// executable (which runs an external plugin in a throw-away process), with
// every error at its attribute, and returns the plugin with its evaluated
// settings.
func decodePluginBlock(block *jobfile.PluginBlock, pk pluginKind, d *describer) (*config.PluginConfig, hcl.Diagnostics, error) {
	plugin := block.Plugin
	if plugin != "" {
		if abs, err := filepath.Abs(plugin); err == nil {
			plugin = abs
		}
	}
	s, err := d.session()
	if err != nil {
		return nil, nil, err
	}
	sch, err := s.Schema(pk.name, block.Kind, plugin)
	switch {
	case errors.Is(err, describe.ErrUnknown):
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf(pk.unknown, block.Kind),
			Detail:   pk.builtins,
			Subject:  block.DefRange.Ptr(),
		}}, nil
	case err != nil && s.Broken():
		return nil, nil, err
	case err != nil:
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: pk.failed, Detail: err.Error(), Subject: block.PluginRange.Ptr()}}, nil
	}
	settings, attrs, diags := decodePluginBody(block, sch)
	if diags.HasErrors() {
		return nil, diags, nil
	}
	errs, err := s.Validate(settings)
	if err != nil {
		return nil, nil, err
	}
	for _, fe := range errs {
		diags = append(diags, fieldDiag(block, attrs, pk.noun, fe))
	}
	if diags.HasErrors() {
		return nil, diags, nil
	}
	return &config.PluginConfig{Kind: block.Kind, Plugin: plugin, Settings: settings}, diags, nil
}

// decodePluginBody evaluates a plugin block's body against the schema the
// plugin declared, so that type errors point at the attribute.
func decodePluginBody(block *jobfile.PluginBlock, sch describe.Schema) (describe.Settings, hcl.Attributes, hcl.Diagnostics) {
	bs := &hcl.BodySchema{}
	types := map[string]cty.Type{}
	for _, a := range sch.Attributes {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: a.Name, Required: a.Required})
		switch a.Type {
		case describe.TypeNumber:
			types[a.Name] = cty.Number
		case describe.TypeBool:
			types[a.Name] = cty.Bool
		default:
			types[a.Name] = cty.String
		}
	}
	content, diags := block.Body.Content(bs)
	settings := describe.Settings{}
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
func fieldDiag(block *jobfile.PluginBlock, attrs hcl.Attributes, what string, fe describe.FieldError) *hcl.Diagnostic {
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

// sinkDiags resolves the job's transcript sink and checks and renders
// problems; the resolved plugins go to the manager with the hand-off.
func (m *Meta) sinkDiags() error {
	if m.sinkResolved {
		return nil
	}
	m.sinkResolved = true
	tOption := false
	for _, s := range m.Opts.Settings {
		tOption = tOption || s.Key == "transcript"
	}
	var d describer
	defer d.close()
	sink, diags, err := resolveSink(m.jobBlocks(), tOption, &d)
	if err != nil {
		return err
	}
	checks, more, err := resolveChecks(m.jobBlocks(), &d)
	if err != nil {
		return err
	}
	diags = append(diags, more...)
	writeDiags(m.Err, m.Files, diags)
	if diags.HasErrors() {
		return &exitError{code: 2}
	}
	m.sink, m.checks = sink, checks
	return nil
}

// resolveChecks decodes the job's healthcheck blocks against each check's
// schema and validates them, and checks start-test-program.
func resolveChecks(cfg *jobfile.Job, d *describer) ([]config.CheckConfig, hcl.Diagnostics, error) {
	var diags hcl.Diagnostics
	var checks []config.CheckConfig
	if cfg.StartTest != nil {
		errs, err := d.validateBuiltin("healthcheck", "program", describe.Settings(cfg.StartTest.Settings))
		if err != nil {
			return nil, nil, err
		}
		for _, fe := range errs {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid start-test-program", Detail: fe.Message})
		}
	}
	for _, block := range cfg.CheckBlocks {
		pc, more, err := decodePluginBlock(block, checkKind, d)
		if err != nil {
			return nil, nil, err
		}
		diags = append(diags, more...)
		if pc == nil {
			continue
		}
		cc := config.CheckConfig{
			PluginConfig: *pc,
			Interval:     block.Interval,
			Timeout:      block.Timeout,
			Liveness:     block.Liveness,
		}
		if cc.Interval == 0 {
			cc.Interval = config.DefaultCheckInterval
		}
		if cc.Timeout == 0 {
			cc.Timeout = config.DefaultCheckTimeout
		}
		checks = append(checks, cc)
	}
	return checks, diags, nil
}
