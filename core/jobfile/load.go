package jobfile

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/zdaemon/zdaemon/core/config"
)

// Block and attribute names of a job file.
const (
	runnerBlock      = "runner"
	environmentBlock = "environment"
	eventlogBlock    = "eventlog"
	logfileBlock     = "logfile"
	healthcheckBlock = "healthcheck"
	transcriptBlock  = "transcript"
	metricsBlock     = "metrics"
)

var topSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: runnerBlock},
		{Type: environmentBlock},
		{Type: eventlogBlock},
		{Type: healthcheckBlock, LabelNames: []string{"kind"}},
		{Type: transcriptBlock, LabelNames: []string{"kind"}},
		{Type: metricsBlock},
		{Type: listenBlock, LabelNames: []string{"name"}},
	},
}

var metricsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "address", Required: true}},
}

var runnerSchema = func() *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for _, st := range settings {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: st.key})
	}
	return s
}()

var eventlogSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "level"}, {Name: "format"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: logfileBlock}},
}

var logfileSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "path", Required: true},
		{Name: "level"},
		{Name: "format"},
		{Name: "dateformat"},
	},
}

// Load reads and decodes the job file at path. It returns the file map the
// parser used, so that the caller can render the diagnostics with their
// source lines.
func Load(path string) (*Job, map[string]*hcl.File, hcl.Diagnostics) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	src, err := ReadFile(abs)
	if err != nil {
		return nil, nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Failed to read job file",
			Detail:   err.Error(),
		}}
	}
	cfg, files, diags := Parse(src, path)
	if cfg != nil {
		cfg.ConfigFile = abs
	}
	return cfg, files, diags
}

// Parse decodes a job file's source. filename names it in diagnostics.
// The returned Job's Config starts from config.Default and holds what the
// file sets; the Job is nil only when the file could not be parsed at all.
func Parse(src []byte, filename string) (*Job, map[string]*hcl.File, hcl.Diagnostics) {
	if diags := checkNesting(src, filename); diags.HasErrors() {
		return nil, map[string]*hcl.File{filename: {Bytes: src}}, diags
	}
	// hclsyntax's parser itself: hclparse's would link hcl's JSON syntax
	// too, which job files do not have.
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.Pos{Byte: 0, Line: 1, Column: 1})
	files := map[string]*hcl.File{filename: file}
	if diags.HasErrors() {
		return nil, files, diags
	}
	content, more := file.Body.Content(topSchema)
	diags = append(diags, more...)
	job := &Job{Config: config.Default()}
	cfg := job.Config

	var runners []*hcl.Block
	var envs, logs, metrics []*hcl.Block
	for _, b := range content.Blocks {
		switch b.Type {
		case metricsBlock:
			metrics = append(metrics, b)
		case runnerBlock:
			runners = append(runners, b)
		case environmentBlock:
			envs = append(envs, b)
		case eventlogBlock:
			logs = append(logs, b)
		case healthcheckBlock:
			pb, more := decodePluginBlock(b, filename, checkBlockSchema)
			diags = append(diags, more...)
			job.CheckBlocks = append(job.CheckBlocks, pb)
		case transcriptBlock:
			if job.SinkBlock != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate transcript block",
					Detail:   fmt.Sprintf("A job has one transcript sink; the first is at %s.", job.SinkBlock.DefRange),
					Subject:  b.DefRange.Ptr(),
				})
				continue
			}
			pb, more := decodePluginBlock(b, filename, pluginBlockSchema)
			diags = append(diags, more...)
			job.SinkBlock = pb
		case listenBlock:
			diags = append(diags, decodeListen(cfg, b)...)
		}
	}
	diags = append(diags, checkListenSet(cfg)...)
	diags = append(diags, once(runners, "runner", file.Body.MissingItemRange(), true)...)
	diags = append(diags, once(envs, "environment", hcl.Range{}, false)...)
	diags = append(diags, once(logs, "eventlog", hcl.Range{}, false)...)
	diags = append(diags, once(metrics, "metrics", hcl.Range{}, false)...)
	if len(metrics) > 0 {
		diags = append(diags, decodeMetrics(cfg, metrics[0])...)
	}
	if len(runners) > 0 {
		diags = append(diags, decodeRunner(cfg, runners[0])...)
	}
	if len(envs) > 0 {
		diags = append(diags, decodeEnvironment(cfg, envs[0])...)
	}
	if len(logs) > 0 {
		diags = append(diags, decodeEventlog(cfg, logs[0])...)
	}
	return job, files, diags
}

// once checks a block appears at most once (and, if required, at all).
func once(blocks []*hcl.Block, name string, missing hcl.Range, required bool) hcl.Diagnostics {
	switch {
	case len(blocks) == 0 && required:
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Missing " + name + " block",
			Detail:   "A job file needs one runner block naming at least the program: runner { program = \"sleep 100\" }.",
			Subject:  missing.Ptr(),
		}}
	case len(blocks) > 1:
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Duplicate " + name + " block",
			Detail:   fmt.Sprintf("Only one %s block is allowed; the first is at %s.", name, blocks[0].DefRange),
			Subject:  blocks[1].DefRange.Ptr(),
		}}
	}
	return nil
}

func decodeRunner(cfg *config.Config, b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(runnerSchema)
	attrs := sortedAttrs(content.Attributes)
	for _, a := range attrs {
		v, more := a.Expr.Value(nil)
		diags = append(diags, more...)
		if more.HasErrors() {
			continue
		}
		s, _ := lookupSetting(a.Name)
		diags = append(diags, s.setFromValue(cfg, v, a.Expr.Range())...)
		source(cfg, runnerBlock+"/"+a.Name, a.Expr.Range())
	}
	if _, ok := content.Attributes["program"]; !ok {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing program",
			Detail:   "The runner block must set program, e.g. program = \"sleep 100\".",
			Subject:  b.DefRange.Ptr(),
		})
	} else if a := content.Attributes["program"]; len(cfg.Program) == 0 && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Empty program",
			Detail:   "program must name the program to run.",
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	return diags
}

func decodeEnvironment(cfg *config.Config, b *hcl.Block) hcl.Diagnostics {
	attrs, diags := b.Body.JustAttributes()
	for _, a := range sortedAttrs(attrs) {
		v, more := a.Expr.Value(nil)
		diags = append(diags, more...)
		if more.HasErrors() {
			continue
		}
		sv, err := convert.Convert(v, cty.String)
		if err != nil || sv.IsNull() || !sv.IsKnown() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid environment value",
				Detail:   fmt.Sprintf("The value of %s must be a string.", a.Name),
				Subject:  a.Expr.Range().Ptr(),
			})
			continue
		}
		setEnv(cfg, a.Name, sv.AsString())
	}
	return diags
}

func decodeEventlog(cfg *config.Config, b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(eventlogSchema)
	el := &config.EventLog{Level: 20}
	if a, ok := content.Attributes["level"]; ok {
		n, more := levelAttr(a)
		diags = append(diags, more...)
		el.Level = n
	}
	if a, ok := content.Attributes["format"]; ok {
		f, more := stringAttr(a)
		diags = append(diags, more...)
		switch {
		case more.HasErrors():
		case f == "json":
			el.Format = f
		case f == "text":
		default:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid event log format",
				Detail:   fmt.Sprintf("format must be \"text\" (the original's lines) or \"json\" (one JSON object a line), not %q.", f),
				Subject:  a.Expr.Range().Ptr(),
			})
		}
	}
	for i, lb := range content.Blocks {
		lc, more := lb.Body.Content(logfileSchema)
		diags = append(diags, more...)
		lf := config.Logfile{Format: config.DefaultLogFormat, DateFormat: config.DefaultLogDateFormat}
		for _, f := range []struct {
			name   string
			target *string
		}{{"path", &lf.Path}, {"format", &lf.Format}, {"dateformat", &lf.DateFormat}} {
			name, target := f.name, f.target
			a, ok := lc.Attributes[name]
			if !ok {
				continue
			}
			s, more := stringAttr(a)
			diags = append(diags, more...)
			*target = s
		}
		if a, ok := lc.Attributes["level"]; ok {
			n, more := levelAttr(a)
			diags = append(diags, more...)
			lf.Level = n
		}
		if a, ok := lc.Attributes["path"]; ok {
			source(cfg, logfileSource(i), a.Expr.Range())
		}
		if a, ok := lc.Attributes["path"]; ok && lf.Path == "" && !diags.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Empty logfile path",
				Detail:   "path must name a file, STDOUT or STDERR.",
				Subject:  a.Expr.Range().Ptr(),
			})
		}
		el.Logfiles = append(el.Logfiles, lf)
	}
	cfg.EventLog = el
	return diags
}

func stringAttr(a *hcl.Attribute) (string, hcl.Diagnostics) {
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return "", diags
	}
	sv, err := convert.Convert(v, cty.String)
	if err != nil || sv.IsNull() || !sv.IsKnown() {
		return "", append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + a.Name,
			Detail:   a.Name + " must be a string.",
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	return sv.AsString(), diags
}

func levelAttr(a *hcl.Attribute) (int, hcl.Diagnostics) {
	s, diags := stringAttr(a)
	if diags.HasErrors() {
		return 0, diags
	}
	n, err := ParseLevel(s)
	if err != nil {
		return 0, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid level",
			Detail:   strings.ToUpper(err.Error()[:1]) + err.Error()[1:] + ".",
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	return n, diags
}

// sortedAttrs orders attributes as they appear in the file, so that
// diagnostics and the environment come out in source order.
func sortedAttrs(m hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *hcl.Attribute) int { return a.Range.Start.Byte - b.Range.Start.Byte })
	return out
}

var pluginBlockSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "plugin"}}}

// checkBlockSchema adds what the core itself reads in a healthcheck block.
var checkBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "plugin"}, {Name: "interval"}, {Name: "timeout"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: livenessBlock}},
}

// decodePluginBlock takes the label and the plugin attribute of a plugin
// block and keeps the rest of the body for the plugin's schema.
func decodePluginBlock(b *hcl.Block, filename string, schema *hcl.BodySchema) (*PluginBlock, hcl.Diagnostics) {
	content, rest, diags := b.Body.PartialContent(schema)
	pb := &PluginBlock{Kind: b.Labels[0], Body: rest, DefRange: b.DefRange}
	for _, d := range []struct {
		name   string
		target *time.Duration
	}{{"interval", &pb.Interval}, {"timeout", &pb.Timeout}} {
		a, ok := content.Attributes[d.name]
		if !ok {
			continue
		}
		v, more := a.Expr.Value(nil)
		diags = append(diags, more...)
		if more.HasErrors() {
			continue
		}
		err := durationAttr(v, d.target)
		if err == nil && *d.target <= 0 {
			err = fmt.Errorf("it must be more than 0")
		}
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid " + d.name,
				Detail:   fmt.Sprintf("%s must be a number of seconds or a duration such as \"500ms\"; %v.", d.name, err),
				Subject:  a.Expr.Range().Ptr(),
			})
		}
	}
	if a, ok := content.Attributes["plugin"]; ok {
		s, more := stringAttr(a)
		diags = append(diags, more...)
		if s == "" && !more.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Empty plugin path",
				Detail:   "plugin must name the plugin's executable.",
				Subject:  a.Expr.Range().Ptr(),
			})
		}
		if s != "" && !filepath.IsAbs(s) {
			s = filepath.Join(filepath.Dir(filename), s)
		}
		pb.Plugin, pb.PluginRange = s, a.Expr.Range()
	}
	lv, more := decodeLiveness(content.Blocks, pb)
	pb.Liveness = lv
	return pb, append(diags, more...)
}

// decodeMetrics reads the metrics block: the HTTP endpoint's address,
// host:port with a numeric port ("127.0.0.1:9150", "[::1]:9150", ":9150").
func decodeMetrics(cfg *config.Config, b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(metricsSchema)
	a, ok := content.Attributes["address"]
	if !ok {
		return diags
	}
	addr, more := stringAttr(a)
	diags = append(diags, more...)
	if more.HasErrors() {
		return diags
	}
	if err := checkHostPort(addr); err != nil {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid metrics address",
			Detail:   fmt.Sprintf("address must be host:port, such as \"127.0.0.1:9150\": %s.", err),
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	cfg.Metrics = &config.Metrics{Address: addr}
	source(cfg, "metrics/address", a.Expr.Range())
	return diags
}

// checkHostPort checks host:port with a port number from 1 to 65535.
func checkHostPort(addr string) error {
	port, ok := splitPort(addr)
	if !ok {
		return fmt.Errorf("%q has no port", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

// splitPort is the port of host:port, "[host]:port" for a host with
// colons; ok is false for whatever net.SplitHostPort refuses (it accepts
// the same words). The client links no net package.
func splitPort(hostport string) (port string, ok bool) {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 {
		return "", false // no port
	}
	j, k := 0, 0 // no '[' from j on, no ']' from k on
	if hostport[0] == '[' {
		end := strings.IndexByte(hostport, ']')
		if end+1 != i { // no ']', or it is not just before the last ':'
			return "", false
		}
		j, k = 1, end+1
	} else if strings.IndexByte(hostport[:i], ':') >= 0 {
		return "", false // too many colons
	}
	if strings.IndexByte(hostport[j:], '[') >= 0 || strings.IndexByte(hostport[k:], ']') >= 0 {
		return "", false
	}
	return hostport[i+1:], true
}
