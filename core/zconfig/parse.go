// Package zconfig reads the legacy ZConfig files of the original zdaemon
// (the "-C app.conf" files with <runner>, <environment> and <eventlog>
// sections) and translates them into HCL job files, so that old
// configurations run unchanged and users can migrate when they like.
//
// Parse implements ZConfig's syntax (sections with optional names, key
// lines, comments, %define with $name, ${name}, $$ and $(ENV)
// substitution, %include relative to the including file, %import recorded
// and ignored, case folding, CRLF files). Translate maps the zdaemon schema
// onto HCL, carrying comments over, and writes it in hclwrite's layout
// without linking hclwrite (hcl.go). Every error is an
// hcl.Diagnostic whose Subject points into the .conf file, so it renders
// like any job-file error.
//
// The package depends on hcl, cty, textseg (and the leaf core/pyrepr)
// only; it never imports core/jobfile. A test checks that what it emits
// loads cleanly there.
package zconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"

	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// Section is one <type name> ... </type> section (the root has Type "").
type Section struct {
	Type, Name string // lower-cased, as ZConfig compares them
	Range      hcl.Range
	EndRange   hcl.Range
	Keys       []*Key
	Sections   []*Section
	// Items are the keys and sections in file order, with the comments
	// that precede each (for carrying comments over).
	Items []Item
	// Trailing comments before the end of the section.
	Trailing []string
}

// Item is a key or a section, with the comment lines just before it.
type Item struct {
	Key      *Key
	Section  *Section
	Comments []string
}

// Key is one "key value" line.
type Key struct {
	Name       string // lower-cased
	RawName    string // as written (environment names keep their case)
	Value      string // after substitution
	NameRange  hcl.Range
	ValueRange hcl.Range
	LineRange  hcl.Range
}

// Document is a parsed file with its includes.
type Document struct {
	// Path is the file that was parsed (as given).
	Path    string
	Root    *Section
	Imports []string
	Defines map[string]string
	// Files maps every file read to its source, for rendering diagnostics.
	Files map[string]*hcl.File
}

// Env looks up an environment variable for $(NAME).
type Env func(name string) (string, bool)

// The regular expressions are compiled on first use, not in the init of
// every process that links the package (most client commands read no
// legacy file).
var (
	keyValueRx     = lazyRegexp(`^([^\s()]+)\s*([^\s].*)?$`)
	sectionStartRx = lazyRegexp(`^([^\s()]+)(?:\s+([^\s()]+))?$`)
	nameRx         = lazyRegexp(`^[a-zA-Z_][a-zA-Z0-9_]*`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// MaxInput bounds what one configuration reads: the file and everything it
// includes, together (an include may name /dev/zero, or the same file many
// times).
const MaxInput = 4 << 20

// ParseFile reads and parses the file at path, following %include.
func ParseFile(path string, env Env) (*Document, hcl.Diagnostics) {
	src, err := readLimited(path, MaxInput)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Failed to read configuration file", Detail: err.Error()}}
	}
	return Parse(src, path, env)
}

// Parse parses src; filename names it in diagnostics and is the base for
// relative %include paths.
func Parse(src []byte, filename string, env Env) (*Document, hcl.Diagnostics) {
	if env == nil {
		env = os.LookupEnv
	}
	p := &parser{
		doc: &Document{Path: filename, Root: &Section{}, Defines: map[string]string{}, Files: map[string]*hcl.File{}},
		env: env,
	}
	p.parseFile(src, filename, p.doc.Root, nil)
	return p.doc, p.diags
}

type parser struct {
	doc   *Document
	env   Env
	diags hcl.Diagnostics
	// including is the stack of files being read (absolute paths, to
	// detect cycles), names the stack as the user wrote them.
	including []string
	names     []string
	// read counts the bytes of every file parsed, against MaxInput.
	read int
	// expanded counts the bytes substitution made, against MaxExpansion.
	expanded int
}

// MaxExpansion bounds what substitution makes of one configuration, all
// values together: %define values built from each other double with each
// definition (%define b $a$a, %define c $b$b, ...), so a few lines could
// otherwise ask for gigabytes.
const MaxExpansion = 4 * MaxInput

// readLimited reads at most limit bytes of the file at path; a longer file
// is an error.
func readLimited(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(src) > limit {
		return nil, fmt.Errorf("the configuration and what it includes are larger than %d MiB together", MaxInput>>20)
	}
	return src, nil
}

// frame is one open section on the stack of a file.
type frame struct {
	sec  *Section
	prev *Section
}

// line is one physical line with its position.
type line struct {
	text       string // stripped
	num        int
	start      int // byte offset of the stripped text
	col        int // 1-based column of the stripped text
	rawStart   int // byte offset of the physical line
	file       string
	rawContent string
}

func (l line) rng(from, to int) hcl.Range {
	return hcl.Range{
		Filename: l.file,
		Start:    hcl.Pos{Line: l.num, Column: l.col + utf8.RuneCountInString(l.text[:from]), Byte: l.start + from},
		End:      hcl.Pos{Line: l.num, Column: l.col + utf8.RuneCountInString(l.text[:to]), Byte: l.start + to},
	}
}

func (l line) whole() hcl.Range { return l.rng(0, len(l.text)) }

// splitLines splits like Python's universal newlines (\n, \r\n, \r).
func splitLines(src []byte, file string) []line {
	var out []line
	num, pos := 0, 0
	for pos < len(src) {
		end := pos
		for end < len(src) && src[end] != '\n' && src[end] != '\r' {
			end++
		}
		raw := string(src[pos:end])
		num++
		trimmedLeft := strings.TrimLeft(raw, " \t\f\v")
		lead := len(raw) - len(trimmedLeft)
		text := strings.TrimRight(trimmedLeft, " \t\f\v")
		out = append(out, line{
			text: text, num: num, start: pos + lead, col: 1 + utf8.RuneCountInString(raw[:lead]),
			rawStart: pos, file: file, rawContent: raw,
		})
		if end < len(src) && src[end] == '\r' && end+1 < len(src) && src[end+1] == '\n' {
			end++
		}
		pos = end + 1
	}
	return out
}

func (p *parser) errorf(rng hcl.Range, summary, detail string) {
	p.diags = append(p.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr()})
}

// parseFile parses one file's lines into section (the section an
// %include appeared in).
func (p *parser) parseFile(src []byte, file string, section *Section, at *hcl.Range) {
	abs, _ := filepath.Abs(file)
	for _, f := range p.including {
		if f == abs {
			rng := hcl.Range{Filename: file}
			if at != nil {
				rng = *at
			}
			p.errorf(rng, "Include cycle", fmt.Sprintf("%s includes itself: %s.", filepath.Base(file), strings.Join(append(p.names, filepath.Base(file)), " includes ")))
			return
		}
	}
	p.including = append(p.including, abs)
	p.names = append(p.names, filepath.Base(file))
	defer func() {
		p.including = p.including[:len(p.including)-1]
		p.names = p.names[:len(p.names)-1]
	}()
	p.doc.Files[file] = &hcl.File{Bytes: src}
	p.read += len(src)
	if !utf8.Valid(src) {
		bad := bytes.IndexFunc(src, func(r rune) bool { return r == utf8.RuneError })
		ln := 1 + bytes.Count(src[:max(bad, 0)], []byte("\n"))
		p.errorf(hcl.Range{Filename: file, Start: hcl.Pos{Line: ln, Column: 1, Byte: 0}, End: hcl.Pos{Line: ln, Column: 1, Byte: 0}},
			"Invalid UTF-8", "The file is not valid UTF-8 text.")
		return
	}
	var stack []frame
	var comments []string
	for _, l := range splitLines(src, file) {
		t := l.text
		switch {
		case t == "":
			if len(comments) > 0 { // keep comment groups apart
				comments = append(comments, "")
			}
		case t[0] == '#':
			comments = append(comments, t)
		case strings.HasPrefix(t, "</"):
			if t[len(t)-1] != '>' {
				p.errorf(l.whole(), "malformed section end", "A section end is written </type>.")
				return
			}
			if len(stack) == 0 {
				p.errorf(l.whole(), "unexpected section end", "There is no open section to end here.")
				return
			}
			typ := strings.ToLower(strings.TrimRight(t[2:len(t)-1], " \t"))
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if typ != top.sec.Type {
				p.errorf(l.whole(), "unbalanced section end", fmt.Sprintf("This ends a %q section, but the open section is %q.", typ, top.sec.Type))
				return
			}
			top.sec.EndRange = l.whole()
			top.sec.Trailing = trimBlank(comments)
			comments = nil
			section = top.prev
		case t[0] == '<':
			if t[len(t)-1] != '>' {
				p.errorf(l.whole(), "malformed section start", "A section start is written <type> or <type name>.")
				return
			}
			rest := t[1 : len(t)-1]
			empty := strings.HasSuffix(rest, "/")
			rest = strings.TrimRight(strings.TrimSuffix(rest, "/"), " \t")
			m := sectionStartRx().FindStringSubmatch(rest)
			if m == nil {
				p.errorf(l.whole(), "malformed section header", "A section header is <type> or <type name>, without parentheses.")
				return
			}
			sec := &Section{Type: strings.ToLower(m[1]), Name: strings.ToLower(m[2]), Range: l.whole()}
			section.Sections = append(section.Sections, sec)
			section.Items = append(section.Items, Item{Section: sec, Comments: trimBlank(comments)})
			comments = nil
			if empty {
				sec.EndRange = l.whole()
				continue
			}
			stack = append(stack, frame{sec: sec, prev: section})
			section = sec
		case t[0] == '%':
			// Comments before a directive stay for the next item.
			if len(comments) > 0 {
				comments = append(comments, "")
			}
			if !p.directive(l, section) {
				return
			}
		default:
			m := keyValueRx().FindStringSubmatchIndex(t)
			if m == nil {
				p.errorf(l.whole(), "malformed configuration data", "A line is a key followed by its value, a section, a %directive or a # comment.")
				return
			}
			key := t[m[2]:m[3]]
			value, vfrom, vto := "", len(t), len(t)
			if m[4] >= 0 {
				vfrom, vto = m[4], m[5]
				var ok bool
				value, ok = p.substitute(t[vfrom:vto], l.rng(vfrom, vto))
				if !ok {
					return
				}
			}
			k := &Key{Name: strings.ToLower(key), RawName: key, Value: value,
				NameRange: l.rng(m[2], m[3]), ValueRange: l.rng(vfrom, vto), LineRange: l.whole()}
			section.Keys = append(section.Keys, k)
			section.Items = append(section.Items, Item{Key: k, Comments: trimBlank(comments)})
			comments = nil
		}
	}
	if len(stack) > 0 {
		p.errorf(stack[len(stack)-1].sec.Range, "unclosed sections not allowed", fmt.Sprintf("The section %q opened here is never closed.", stack[len(stack)-1].sec.Type))
		return
	}
	if c := trimBlank(comments); len(c) > 0 {
		section.Trailing = append(section.Trailing, c...)
	}
}

// trimBlank drops the blank lines after a comment group.
func trimBlank(lines []string) []string {
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// directive handles a %define, %include or %import line. It returns false
// when parsing must stop.
func (p *parser) directive(l line, section *Section) bool {
	rest := l.text[1:]
	m := keyValueRx().FindStringSubmatchIndex(rest)
	if m == nil {
		p.errorf(l.whole(), "missing or unrecognized directive", "Directives are %define, %include and %import.")
		return false
	}
	name := rest[m[2]:m[3]]
	if name != "define" && name != "import" && name != "include" {
		p.errorf(l.rng(1+m[2], 1+m[3]), "unknown directive: "+pyrepr.Str(name), "Directives are %define, %include and %import.")
		return false
	}
	if m[4] < 0 {
		p.errorf(l.whole(), "missing argument to %"+name+" directive", "")
		return false
	}
	argFrom, argTo := 1+m[4], 1+m[5]
	arg := l.text[argFrom:argTo]
	argRange := l.rng(argFrom, argTo)
	switch name {
	case "define":
		parts := strings.SplitN(arg, " ", 2)
		if i := strings.IndexAny(arg, " \t"); i >= 0 {
			parts = []string{arg[:i], strings.TrimLeft(arg[i:], " \t")}
		}
		defname := strings.ToLower(parts[0])
		value := ""
		if len(parts) == 2 {
			value = parts[1]
		}
		if old, ok := p.doc.Defines[defname]; ok && old != value {
			p.errorf(argRange, "cannot redefine "+pyrepr.Str(defname), fmt.Sprintf("%s is already defined as %s.", defname, pyrepr.Str(old)))
			return false
		}
		if !isName(defname) {
			p.errorf(argRange, "not a substitution legal name: "+pyrepr.Str(defname), "Names are letters, digits and underscores, not starting with a digit.")
			return false
		}
		v, ok := p.substitute(value, argRange)
		if !ok {
			return false
		}
		p.doc.Defines[defname] = v
	case "import":
		v, ok := p.substitute(strings.TrimSpace(arg), argRange)
		if !ok {
			return false
		}
		p.doc.Imports = append(p.doc.Imports, v)
	case "include":
		target, ok := p.substitute(strings.TrimSpace(arg), argRange)
		if !ok {
			return false
		}
		path := strings.TrimPrefix(target, "file://")
		if strings.Contains(path, "://") {
			p.errorf(argRange, "include target not supported: "+target, "Only local files can be included.")
			return false
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(l.file), path)
		}
		src, err := readLimited(path, max(MaxInput-p.read, 0))
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EISDIR) {
			p.errorf(argRange, "include target not found: "+target, err.Error())
			return false
		}
		if err != nil {
			p.errorf(argRange, "include target cannot be read: "+target, err.Error())
			return false
		}
		before := len(p.diags)
		p.parseFile(src, path, section, &argRange)
		return len(p.diags) == before || !p.diags[before:].HasErrors()
	}
	return true
}

func isName(s string) bool { return nameRx().FindString(s) == s && s != "" }

// substitute expands $name, ${name}, $(ENV) and $$ as ZConfig does.
func (p *parser) substitute(s string, rng hcl.Range) (string, bool) {
	if !strings.Contains(s, "$") {
		return s, true
	}
	var b strings.Builder
	rest := s
	for rest != "" {
		i := strings.IndexByte(rest, '$')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		if i+1 >= len(rest) {
			p.errorf(rng, "illegal lone '$' at end of source", "Write $$ for a literal $.")
			return "", false
		}
		c := rest[i+1]
		var name, after string
		env := false
		switch c {
		case '$':
			b.WriteByte('$')
			rest = rest[i+2:]
			continue
		case '{', '(':
			closer := map[byte]string{'{': "}", '(': ")"}[c]
			name = nameRx().FindString(rest[i+2:])
			if name == "" {
				p.errorf(rng, fmt.Sprintf("'$%c' not followed by name", c), "")
				return "", false
			}
			after = rest[i+2+len(name):]
			if !strings.HasPrefix(after, closer) {
				p.errorf(rng, fmt.Sprintf("'$%c%s' not followed by '%s'", c, name, closer), "")
				return "", false
			}
			after = after[1:]
			env = c == '('
		default:
			name = nameRx().FindString(rest[i+1:])
			if name == "" {
				p.errorf(rng, "'$' not followed by '$' or name", "Write $$ for a literal $.")
				return "", false
			}
			after = rest[i+1+len(name):]
		}
		var v string
		var ok bool
		if env {
			v, ok = p.env(name)
		} else {
			v, ok = p.doc.Defines[strings.ToLower(name)]
		}
		if !ok {
			what := "Define it with %define " + name + " <value>."
			if env {
				what = "The environment variable " + name + " is not set."
			}
			p.errorf(rng, "no replacement for "+pyrepr.Str(name), what)
			return "", false
		}
		if b.Len()+len(v)+len(after) > MaxInput || p.expanded+b.Len()+len(v) > MaxExpansion {
			p.errorf(rng, "substitution makes this value too long",
				fmt.Sprintf("Replacing %s would make it longer than %d MiB (all values together at most %d MiB): %%define values built from each other double with each definition", pyrepr.Str("$"+name), MaxInput>>20, MaxExpansion>>20))
			return "", false
		}
		b.WriteString(v)
		rest = after
	}
	p.expanded += b.Len()
	return b.String(), true
}

// LooksLegacy tells a ZConfig file from an HCL job file by content: the
// first line that is not blank or a comment starts a section (<) or a
// directive (%).
func LooksLegacy(src []byte) bool {
	for _, l := range splitLines(src, "") {
		if l.text == "" || l.text[0] == '#' || strings.HasPrefix(l.text, "//") {
			continue
		}
		return l.text[0] == '<' || l.text[0] == '%'
	}
	return false
}
