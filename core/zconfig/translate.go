package zconfig

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// kind is a runner key's ZConfig datatype.
type kind int

const (
	kString    kind = iota // string
	kWords                 // string-list
	kBool                  // boolean
	kInt                   // integer
	kPositive              // integer >= 1 (backoff-limit)
	kSeconds               // integer >= 0 (timeouts)
	kOctal                 // umask
	kExitCodes             // list of ints
)

// runnerKeys are the original's <runner> keys (zdaemon/component.xml).
var runnerKeys = map[string]kind{
	"program": kWords, "python": kString, "zdrun": kString, "socket-name": kString,
	"daemon": kBool, "directory": kString, "backoff-limit": kPositive, "forever": kBool,
	"exit-codes": kExitCodes, "start-test-program": kWords, "start-timeout": kSeconds,
	"stop-timeout": kSeconds, "user": kString, "umask": kOctal, "hang-around": kBool,
	"default-to-interactive": kBool, "logfile": kString, "transcript": kString, "prompt": kString,
}

// logfileKeys are <logfile> keys; only the first four exist in job files.
var logfileKeys = map[string]bool{
	"path": true, "level": true, "format": true, "dateformat": true,
	"style": false, "arbitrary-fields": false, "formatter": false, "max-size": false,
	"old-files": false, "when": false, "interval": false, "encoding": false, "delay": false,
}

var handlerSections = []string{"syslog", "email-notifier", "http-logger", "win32-eventlog"}

var levelNames = []string{"critical", "fatal", "error", "warn", "warning", "info", "blather", "debug", "trace", "all", "notset"}

// Translate turns a parsed zdaemon configuration into an HCL job file.
// Diagnostics point into the .conf files; warnings name what a job file
// cannot express and was left out.
// The result is formatted HCL source.
func Translate(doc *Document) ([]byte, hcl.Diagnostics) {
	out, _, diags := TranslateWithOrigins(doc)
	return out, diags
}

// Origins maps a translated setting to the range of its value in the
// .conf file: "runner/<key>" and "eventlog/logfile/<i>/path" (i counts the
// translated logfile blocks from 0), the keys core/jobfile uses for the
// ranges it keeps. Checks of the translated job point there, at what the
// user wrote.
type Origins map[string]hcl.Range

// TranslateWithOrigins is Translate, and says where each translated
// setting came from.
func TranslateWithOrigins(doc *Document) ([]byte, Origins, hcl.Diagnostics) {
	t := translate(doc)
	if t.diags.HasErrors() {
		return nil, nil, t.diags
	}
	return t.file.render(), t.origins, t.diags
}

// translate maps doc onto the items of an HCL file.
func translate(doc *Document) *translator {
	t := &translator{doc: doc, origins: Origins{}}
	t.translate()
	return t
}

type translator struct {
	doc      *Document
	file     body // what is written
	diags    hcl.Diagnostics
	origins  Origins
	logfiles int // logfile blocks written so far
}

func (t *translator) errorf(rng hcl.Range, summary, detail string) {
	t.diags = append(t.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr()})
}

func (t *translator) warnf(rng hcl.Range, summary, detail string) {
	t.diags = append(t.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: detail, Subject: rng.Ptr()})
}

func (t *translator) translate() {
	root := t.doc.Root
	var runner, env, eventlog *Section
	var aside []string
	// Only the runner, environment and eventlog sections are zdaemon's;
	// everything else belongs to the host application (zope.conf, zeo.conf)
	// and is kept aside.
	for _, s := range root.Sections {
		if s.Type == "runner" {
			runner = s
			break
		}
	}
	if runner == nil {
		t.errorf(hcl.Range{Filename: t.doc.Path, Start: hcl.Pos{Line: 1, Column: 1}, End: hcl.Pos{Line: 1, Column: 1}},
			"no runner section", "This configuration has no <runner> section, so it does not describe a zdaemon job "+
				"(no values for section type 'runner'; 1 required).")
		return
	}
	runner = nil
	for _, it := range root.Items {
		if it.Key != nil {
			aside = append(aside, fmt.Sprintf("%s (line %d)", it.Key.RawName, it.Key.LineRange.Start.Line))
			continue
		}
		s := it.Section
		switch s.Type {
		case "runner":
			if runner != nil {
				t.errorf(s.Range, "too many instances of 'runner' section", "A configuration has one <runner> section.")
				continue
			}
			runner = s
		case "environment":
			if env != nil {
				t.errorf(s.Range, "too many instances of 'environment' section", "")
				continue
			}
			env = s
		case "eventlog":
			if eventlog != nil {
				t.errorf(s.Range, "too many instances of 'eventlog' section", "")
				continue
			}
			eventlog = s
		default:
			aside = append(aside, fmt.Sprintf("<%s> (line %d)", s.Type, s.Range.Start.Line))
		}
	}
	if t.diags.HasErrors() {
		return
	}
	t.comments(leadingComments(root))
	if len(aside) > 0 {
		t.comments([]string{"# Not translated: settings of the host application, which zdaemon does not read:",
			"#   " + strings.Join(aside, ", ")})
	}
	t.runner(runner, root)
	if env != nil {
		t.environment(env, root)
	}
	// A nested <runner><eventlog> wins over the top-level one.
	for _, s := range runner.Sections {
		if s.Type == "eventlog" || s.Type == "logger" {
			eventlog = s
		}
	}
	if eventlog != nil {
		t.eventlog(eventlog, root)
	}
	t.comments(root.Trailing)
}

// leadingComments are the comments before the first section of the file.
func leadingComments(root *Section) []string {
	if len(root.Items) == 0 {
		return nil
	}
	return root.Items[0].Comments
}

func (t *translator) comments(lines []string) {
	if len(lines) > 0 {
		t.file.appendLines(lines)
		t.file.appendNewline()
	}
}

// itemComments returns the comments before the item holding sec in parent,
// except the file's leading comments, which were already written.
func itemComments(parent *Section, sec *Section) []string {
	for i, it := range parent.Items {
		if it.Section == sec {
			if i == 0 && parent.Type == "" {
				return nil
			}
			return it.Comments
		}
	}
	return nil
}

func (t *translator) runner(s *Section, root *Section) {
	if c := itemComments(root, s); len(c) > 0 {
		t.file.appendLines(c)
	}
	body := t.file.appendBlock("runner")
	seen := map[string]*Key{}
	for _, it := range s.Items {
		if it.Section != nil {
			switch it.Section.Type {
			case "eventlog", "logger":
			default:
				t.errorf(it.Section.Range, fmt.Sprintf("no matching section defined for type=%s, name=%s", pyrepr.Str(it.Section.Type), pyName(it.Section.Name)),
					"A <runner> section holds keys and at most one <eventlog>.")
			}
			continue
		}
		k := it.Key
		kd, known := runnerKeys[k.Name]
		if !known {
			t.errorf(k.NameRange, pyrepr.Str(k.RawName)+" is not a known key name", "See the runner keys in the README.")
			continue
		}
		if prev, dup := seen[k.Name]; dup {
			t.errorf(k.NameRange, pyrepr.Str(k.Name)+" does not support multiple values", fmt.Sprintf("It was already set on line %d.", prev.NameRange.Start.Line))
			continue
		}
		seen[k.Name] = k
		v, ok := t.convert(k, kd)
		if !ok {
			continue
		}
		if len(it.Comments) > 0 {
			body.appendLines(it.Comments)
		}
		body.setAttribute(k.Name, v)
		t.origins["runner/"+k.Name] = k.ValueRange
	}
	if _, ok := seen["program"]; !ok {
		t.errorf(s.EndRange, "no values for 'program'; 1 required", "The <runner> section must name the program.")
	}
	if len(s.Trailing) > 0 {
		body.appendLines(s.Trailing)
	}
	t.file.appendNewline()
}

func pyName(s string) string {
	if s == "" {
		return "None"
	}
	return pyrepr.Str(s)
}

// convert checks a runner value against its datatype and returns it as a
// typed HCL value. Error texts are the original's.
func (t *translator) convert(k *Key, kd kind) (cty.Value, bool) {
	bad := func(msg string) (cty.Value, bool) {
		t.errorf(k.ValueRange, msg, fmt.Sprintf("The value of %s is not valid.", k.Name))
		return cty.NilVal, false
	}
	v := k.Value
	switch kd {
	case kWords:
		words := strings.Fields(v)
		if len(words) == 0 {
			return bad(fmt.Sprintf("%s must name a program", k.Name))
		}
		vals := make([]cty.Value, len(words))
		for i, w := range words {
			vals[i] = cty.StringVal(w)
		}
		return cty.TupleVal(vals), true
	case kBool:
		switch strings.ToLower(v) {
		case "yes", "true", "on":
			return cty.True, true
		case "no", "false", "off":
			return cty.False, true
		}
		return bad("not a valid boolean value: " + pyrepr.Str(v))
	case kInt, kPositive, kSeconds:
		n, err := pyrepr.Int(v, 10)
		if err != nil {
			return bad(err.Error())
		}
		if kd == kPositive && n < 1 {
			return bad(fmt.Sprintf("%s must be at least 1", k.Name))
		}
		if kd == kSeconds && n < 0 {
			return bad(fmt.Sprintf("%s must not be negative", k.Name))
		}
		return cty.NumberIntVal(int64(n)), true
	case kOctal:
		trimmed := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(v), "0o"), "0O")
		n, err := pyrepr.Int(trimmed, 8)
		if err != nil {
			return bad("invalid literal for int() with base 8: " + pyrepr.Str(v))
		}
		if n < 0 || n > 0o777 {
			return bad(fmt.Sprintf("umask %s is out of range (000 to 777)", v))
		}
		return cty.StringVal(fmt.Sprintf("%03o", n)), true
	case kExitCodes:
		codes := []cty.Value{}
		if strings.TrimSpace(v) != "" {
			for _, part := range strings.Split(v, ",") {
				n, err := pyrepr.Int(part, 10)
				if err != nil {
					return bad(err.Error())
				}
				if n < -1 || n > 255 {
					return bad(fmt.Sprintf("exit status %d is out of range (-1 to 255)", n))
				}
				codes = append(codes, cty.NumberIntVal(int64(n)))
			}
		}
		if len(codes) == 0 {
			return cty.EmptyTupleVal, true
		}
		return cty.TupleVal(codes), true
	}
	return cty.StringVal(v), true
}

func (t *translator) environment(s *Section, root *Section) {
	if c := itemComments(root, s); len(c) > 0 {
		t.file.appendLines(c)
	}
	body := t.file.appendBlock("environment")
	seen := map[string]bool{}
	for _, it := range s.Items {
		if it.Section != nil {
			t.errorf(it.Section.Range, "sections are not allowed in <environment>", "")
			continue
		}
		k := it.Key
		if strings.ContainsAny(k.RawName, "=\x00") {
			t.errorf(k.NameRange, "illegal environment variable name "+pyrepr.Str(k.RawName), "Environment names cannot contain '='.")
			continue
		}
		if !hclsyntax.ValidIdentifier(k.RawName) || strings.Contains(k.RawName, "-") {
			t.errorf(k.NameRange, "environment variable name "+pyrepr.Str(k.RawName)+" cannot be written in a job file",
				"Job-file environment names are letters, digits and underscores, not starting with a digit.")
			continue
		}
		if seen[k.RawName] {
			t.errorf(k.NameRange, "too many values for "+pyrepr.Str(k.RawName), "Each variable may be set once.")
			continue
		}
		seen[k.RawName] = true
		if len(it.Comments) > 0 {
			body.appendLines(it.Comments)
		}
		body.setAttribute(k.RawName, cty.StringVal(k.Value))
	}
	if len(s.Trailing) > 0 {
		body.appendLines(s.Trailing)
	}
	t.file.appendNewline()
}

func (t *translator) eventlog(s *Section, root *Section) {
	if c := itemComments(root, s); len(c) > 0 {
		t.file.appendLines(c)
	}
	body := t.file.appendBlock("eventlog")
	for _, it := range s.Items {
		if k := it.Key; k != nil {
			if k.Name != "level" {
				t.errorf(k.NameRange, pyrepr.Str(k.RawName)+" is not a known key name", "An <eventlog> section has a level and handler sections.")
				continue
			}
			if !t.level(k) {
				continue
			}
			body.appendLines(it.Comments)
			body.setAttribute("level", cty.StringVal(k.Value))
			continue
		}
		sec := it.Section
		switch {
		case sec.Type == "logfile":
			body.appendLines(it.Comments)
			t.logfile(sec, body.appendBlock("logfile"))
		case slices.Contains(handlerSections, sec.Type):
			t.warnf(sec.Range, fmt.Sprintf("<%s> handlers are not supported; ignored", sec.Type),
				"Job files log to files, STDOUT and STDERR (logfile blocks) only.")
			body.appendLines([]string{fmt.Sprintf("# Not translated: a <%s> handler (line %d).", sec.Type, sec.Range.Start.Line)})
		default:
			t.errorf(sec.Range, fmt.Sprintf("no matching section defined for type=%s, name=%s", pyrepr.Str(sec.Type), pyName(sec.Name)),
				"An <eventlog> section holds <logfile> handlers.")
		}
	}
	if len(s.Trailing) > 0 {
		body.appendLines(s.Trailing)
	}
	t.file.appendNewline()
}

func (t *translator) level(k *Key) bool {
	v := strings.ToLower(strings.TrimSpace(k.Value))
	if slices.Contains(levelNames, v) {
		return true
	}
	if n, err := pyrepr.Int(v, 10); err == nil && n >= 0 && n <= 50 {
		return true
	}
	t.errorf(k.ValueRange, "logging level "+pyrepr.Str(k.Value)+" is not valid", "Use critical, error, warning, info, blather, debug, trace, all, notset or 0-50.")
	return false
}

func (t *translator) logfile(s *Section, body *body) {
	var path *Key
	for _, it := range s.Items {
		k := it.Key
		if k == nil {
			t.errorf(it.Section.Range, "sections are not allowed in <logfile>", "")
			continue
		}
		supported, known := logfileKeys[k.Name]
		switch {
		case !known:
			t.errorf(k.NameRange, pyrepr.Str(k.RawName)+" is not a known key name", "A <logfile> has path, level, format and dateformat.")
			continue
		case !supported:
			t.warnf(k.NameRange, fmt.Sprintf("%s is not supported; ignored", k.Name),
				"Job-file logfiles do not rotate or take formatter options; rotate with reopen_transcript or logreopen.")
			body.appendLines([]string{fmt.Sprintf("# Not translated: %s %s", k.RawName, k.Value)})
			continue
		case k.Name == "level" && !t.level(k):
			continue
		case k.Name == "path":
			if strings.TrimSpace(k.Value) == "" {
				t.errorf(k.ValueRange, "path must name a file, STDOUT or STDERR", "")
				continue
			}
			path = k
			t.origins[fmt.Sprintf("eventlog/logfile/%d/path", t.logfiles)] = k.ValueRange
		}
		body.appendLines(it.Comments)
		body.setAttribute(k.Name, cty.StringVal(k.Value))
	}
	t.logfiles++
	if path == nil {
		t.errorf(s.Range, "no values for 'path'; 1 required", "A <logfile> must name its path (a file, STDOUT or STDERR).")
	}
	if len(s.Trailing) > 0 {
		body.appendLines(s.Trailing)
	}
}
