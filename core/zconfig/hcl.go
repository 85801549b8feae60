package zconfig

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
)

// The translation writes its HCL itself, in the layout hclwrite gives it
// (hclwrite.Format of what an hclwrite.File of the same items would hold):
// hclwrite links go-cmp, whose package inits cost every client command
// more than a millisecond. A test renders the same items with hclwrite and
// FuzzTranslate checks the two agree byte for byte and that the output
// parses back to the values written.

// body is the content of the HCL file or of one block: what the
// translation emits of hclwrite's model — attributes with literal values,
// blocks without labels, and comment lines.
type body struct {
	items []item
}

// item is one element of a body: a line of its own (line, a "# ..."
// comment or "" for a blank line), an attribute (name, value) or a block
// (block).
type item struct {
	line  string
	name  string
	value cty.Value
	block *block
}

type block struct {
	typ  string
	body body
}

func (it *item) isAttr() bool { return it.name != "" }

// appendLines appends comment lines ("" for a blank line), as
// hclwrite's AppendUnstructuredTokens of comment and newline tokens.
func (b *body) appendLines(lines []string) {
	for _, l := range lines {
		b.items = append(b.items, item{line: l})
	}
}

// appendNewline appends a blank line (hclwrite's AppendNewline).
func (b *body) appendNewline() { b.items = append(b.items, item{}) }

// appendBlock appends an empty block and returns its body.
func (b *body) appendBlock(typ string) *body {
	b.items = append(b.items, item{block: &block{typ: typ}})
	return &b.items[len(b.items)-1].block.body
}

// setAttribute sets an attribute, as hclwrite's SetAttributeValue: a new
// one goes at the end of the body, one already there gets the new value
// where it stands.
func (b *body) setAttribute(name string, v cty.Value) {
	for i := range b.items {
		if b.items[i].name == name {
			b.items[i].value = v
			return
		}
	}
	b.items = append(b.items, item{name: name, value: v})
}

// outLine is one line of the output: its nesting depth and text; an
// attribute's "= value" is apart, for aligning the equals signs.
type outLine struct {
	depth  int
	text   string // the whole line, or an attribute's name
	assign string // "= value" of an attribute
	attr   bool
}

// render writes the file: two spaces of indent a level, the equals signs
// of neighbouring attribute lines aligned, and one newline at the end.
func (b *body) render() []byte {
	var lines []outLine
	b.lines(0, &lines)
	var out bytes.Buffer
	for i := 0; i < len(lines); {
		if !lines[i].attr {
			l := lines[i]
			if l.text != "" { // a blank line has no indent
				out.WriteString(strings.Repeat("  ", l.depth))
				out.WriteString(l.text)
			}
			out.WriteByte('\n')
			i++
			continue
		}
		// A run of attribute lines: their equals signs line up one column
		// after the widest name (counted in grapheme clusters).
		j, width := i, 0
		for ; j < len(lines) && lines[j].attr; j++ {
			width = max(width, columns(lines[j]))
		}
		for _, l := range lines[i:j] {
			out.WriteString(strings.Repeat("  ", l.depth))
			out.WriteString(l.text)
			out.WriteString(strings.Repeat(" ", width-columns(l)+1))
			out.WriteString(l.assign)
			out.WriteByte('\n')
		}
		i = j
	}
	return append(bytes.TrimRight(out.Bytes(), "\n"), '\n')
}

func columns(l outLine) int { return 2*l.depth + graphemeCount(l.text) }

func (b *body) lines(depth int, out *[]outLine) {
	for _, it := range b.items {
		switch {
		case it.block != nil:
			*out = append(*out, outLine{depth: depth, text: it.block.typ + " {"})
			it.block.body.lines(depth+1, out)
			*out = append(*out, outLine{depth: depth, text: "}"})
		case it.isAttr():
			*out = append(*out, outLine{depth: depth, text: it.name, assign: "= " + string(appendValue(nil, it.value)), attr: true})
		default:
			*out = append(*out, outLine{depth: depth, text: it.line})
		}
	}
}

// appendValue appends a literal: a string, number, bool or tuple of them.
func appendValue(b []byte, v cty.Value) []byte {
	switch ty := v.Type(); {
	case ty == cty.Bool:
		if v.True() {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case ty == cty.Number:
		return append(b, v.AsBigFloat().Text('f', -1)...)
	case ty == cty.String:
		b = append(b, '"')
		b = appendQuoted(b, v.AsString())
		return append(b, '"')
	case ty.IsTupleType():
		b = append(b, '[')
		for i, e := range v.AsValueSlice() {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendValue(b, e)
		}
		return append(b, ']')
	}
	panic(fmt.Sprintf("zconfig: no HCL literal for %#v", v))
}

// appendQuoted appends s escaped for an HCL quoted string, as hclwrite
// escapes it: \n, \r, \t, \" and \\; ${ and %{ doubled to $${ and %%{ so
// they stay literal; other unprintable characters as \uXXXX or
// \UXXXXXXXX; a byte that is not UTF-8 as U+FFFD.
func appendQuoted(b []byte, s string) []byte {
	for i, r := range s {
		switch r {
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '$', '%':
			b = append(b, byte(r))
			if i+1 < len(s) && s[i+1] == '{' {
				b = append(b, byte(r))
			}
		default:
			switch {
			case !unicode.IsPrint(r) && r < 0x10000:
				b = fmt.Appendf(b, `\u%04x`, r)
			case !unicode.IsPrint(r):
				b = fmt.Appendf(b, `\U%08x`, r)
			default:
				b = utf8.AppendRune(b, r)
			}
		}
	}
	return b
}

// graphemeCount counts as hclwrite does when it aligns (its internal
// unicodeutil.GraphemeCount): grapheme clusters by a bufio.Scanner, which
// stops at a cluster longer than its 64 KiB.
func graphemeCount(s string) int {
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Split(scanGraphemeClusters)
	n := 0
	for sc.Scan() {
		n++
	}
	return n
}
