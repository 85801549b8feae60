// Package logformat parses the original's log formats, Python logging's
// "%(name)s" strings: placeholders for the fields of a log record with
// printf flags and a conversion (s, d, f or r), "%%" for a percent sign,
// and the escapes the original allows (\n, \t, \r, \b, \f). The event log
// renders records with the pieces; the client checks a job's formats with
// Validate without linking the event log.
package logformat

import (
	"fmt"
	"strconv"
	"strings"
)

// Piece is literal text (Field "") or one placeholder.
type Piece struct {
	Lit   string
	Field string // the record field, "" for literal text
	Spec  string // printf flags/width/precision
	Conv  byte   // s d f r
}

// isField reports a field of Python's LogRecord.
func isField(name string) bool {
	switch name {
	case "name", "levelno", "levelname", "pathname", "filename",
		"module", "lineno", "created", "asctime", "msecs",
		"relativeCreated", "thread", "threadName", "message",
		"process", "processName", "funcName":
		return true
	}
	return false
}

// Validate checks a format as written in a job file (with its escapes).
func Validate(format string) error {
	_, err := Parse(Unescape(format))
	return err
}

// Unescape interprets the escapes the original allows in formats.
func Unescape(s string) string {
	return strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\r`, "\r", `\b`, "\b", `\f`, "\f").Replace(s)
}

// Parse splits an unescaped format into its pieces.
func Parse(f string) ([]Piece, error) {
	var out []Piece
	var lit strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			lit.WriteByte(f[i])
			continue
		}
		if i+1 < len(f) && f[i+1] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		if i+1 >= len(f) || f[i+1] != '(' {
			return nil, fmt.Errorf("format %q: '%%' must be followed by '(name)' or '%%'", f)
		}
		end := strings.IndexByte(f[i:], ')')
		if end < 0 {
			return nil, fmt.Errorf("format %q: unclosed '%%('", f)
		}
		name := f[i+2 : i+end]
		if !isField(name) {
			return nil, fmt.Errorf("unknown format field %s", strconv.Quote(name))
		}
		j := i + end + 1
		k := j
		for k < len(f) && strings.IndexByte("-+ #0123456789.", f[k]) >= 0 {
			k++
		}
		if k >= len(f) || strings.IndexByte("sdfr", f[k]) < 0 {
			return nil, fmt.Errorf("format %q: field %s needs a conversion (s, d, f or r)", f, name)
		}
		if lit.Len() > 0 {
			out = append(out, Piece{Lit: lit.String()})
			lit.Reset()
		}
		out = append(out, Piece{Field: name, Spec: f[j:k], Conv: f[k]})
		i = k
	}
	if lit.Len() > 0 {
		out = append(out, Piece{Lit: lit.String()})
	}
	return out, nil
}
