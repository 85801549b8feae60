// Package pyrepr writes and reads text in the shapes the original Python
// zdaemon prints: repr of str, list and float, int() parsing with its error
// message, and OS errors as "[Errno 2] No such file or directory". Scripts
// parse these shapes, so they are kept byte for byte.
//
// It is a leaf: it imports nothing from this module, so every package
// (core/config and core/jobfile included) may use it.
package pyrepr

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// Str renders s as Python 3's repr of a str: single quotes unless s
// contains ' and no ", escapes for backslash, the quote and characters
// that are not printable (\xNN, \uNNNN), and bytes that are not UTF-8 as
// Python's surrogateescape shows them (\udcNN).
func Str(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			// A byte that is not UTF-8, as Python's surrogateescape shows it.
			fmt.Fprintf(&b, `\udc%02x`, s[i])
		case r == '\\' || r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r) && r > 0x7f:
			switch {
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
		i += size
	}
	b.WriteByte(q)
	return b.String()
}

// List renders a list of strings as Python's repr: ['a', 'b'].
func List(list []string) string {
	parts := make([]string, len(list))
	for i, s := range list {
		parts[i] = Str(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Float renders f as Python's repr of a float: the shortest digits
// that round-trip, with ".0" when integral.
func Float(f float64) string {
	return string(AppendFloat(nil, f))
}

// AppendFloat appends Float(f) to dst.
func AppendFloat(dst []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(dst, map[bool]string{true: "inf", false: "nan"}[math.IsInf(f, 1)]...)
	}
	start := len(dst)
	if math.Abs(f) < 1e16 && (math.Abs(f) >= 1e-4 || f == 0) {
		dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	} else {
		dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
	}
	if !bytes.ContainsAny(dst[start:], ".eEn") {
		dst = append(dst, ".0"...)
	}
	return dst
}

var errBadList = errors.New("not a Python list of strings")

// ParseList parses a Python list of str literals, as in the status
// reply's args= line: either quote style, backslash escapes.
func ParseList(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, errBadList
	}
	body := s[1 : len(s)-1]
	list := []string{}
	i := 0
	skip := func() {
		for i < len(body) && (body[i] == ' ' || body[i] == '\t') {
			i++
		}
	}
	skip()
	for i < len(body) {
		q := body[i]
		if q != '\'' && q != '"' {
			return nil, errBadList
		}
		i++
		var b strings.Builder
		closed := false
		for i < len(body) {
			c := body[i]
			if c == q {
				i++
				closed = true
				break
			}
			if c != '\\' {
				b.WriteByte(c)
				i++
				continue
			}
			if i+1 >= len(body) {
				return nil, errBadList
			}
			e := body[i+1]
			i += 2
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\', '\'', '"':
				b.WriteByte(e)
			case 'x', 'u', 'U':
				n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
				if i+n > len(body) {
					return nil, errBadList
				}
				v, err := strconv.ParseUint(body[i:i+n], 16, 32)
				if err != nil {
					return nil, errBadList
				}
				i += n
				if v >= 0xdc80 && v <= 0xdcff { // surrogateescape: a raw byte
					b.WriteByte(byte(v - 0xdc00))
				} else {
					b.WriteRune(rune(v))
				}
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		}
		if !closed {
			return nil, errBadList
		}
		list = append(list, b.String())
		skip()
		if i < len(body) {
			if body[i] != ',' {
				return nil, errBadList
			}
			i++
			skip()
			if i >= len(body) { // trailing comma
				break
			}
		}
	}
	return list, nil
}

// Int parses like Python's int(s, base): blanks around, a sign, digits with
// single underscores between them. The error is Python's:
// "invalid literal for int() with base 10: 'x'".
func Int(s string, base int) (int, error) {
	bad := fmt.Errorf("invalid literal for int() with base %d: %s", base, Str(s))
	t := strings.TrimFunc(s, unicode.IsSpace)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg, t = t[0] == '-', t[1:]
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return 0, bad
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(t, "_", ""), base, 32)
	if err != nil {
		return 0, bad
	}
	if neg {
		n = -n
	}
	return int(n), nil
}

// Errno renders an errno as Python's OSError does:
// "[Errno 22] Invalid argument".
func Errno(errno syscall.Errno) string {
	msg := []rune(errno.Error())
	if len(msg) > 0 {
		msg[0] = unicode.ToUpper(msg[0])
	}
	return fmt.Sprintf("[Errno %d] %s", int(errno), string(msg))
}
