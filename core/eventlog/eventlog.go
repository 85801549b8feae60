// Package eventlog is the manager's event log: a log/slog handler that
// writes records in the original's Python logging format
// ("------\n2026-11-24T01:54:25 INFO root spawned process pid=13272") to the
// configured files and streams, and reopens its files for log rotation.
package eventlog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/logformat"
)

// The original's levels as slog levels.
const (
	LevelTrace    slog.Level = -8
	LevelDebug               = slog.LevelDebug // -4
	LevelBlather  slog.Level = -2
	LevelInfo                = slog.LevelInfo // 0
	LevelWarning             = slog.LevelWarn // 4
	LevelError               = slog.LevelError
	LevelCritical slog.Level = 12
)

// levels maps slog levels to Python's names and numbers, highest first.
var levels = []struct {
	slog slog.Level
	name string
	num  int
}{
	{LevelCritical, "CRITICAL", 50},
	{LevelError, "ERROR", 40},
	{LevelWarning, "WARNING", 30},
	{LevelInfo, "INFO", 20},
	{LevelBlather, "BLATHER", 15},
	{LevelDebug, "DEBUG", 10},
	{LevelTrace, "TRACE", 5},
}

// pyLevel is the Python name and number of an slog level (the nearest
// level at or below it).
func pyLevel(l slog.Level) (string, int) {
	for _, lv := range levels {
		if l >= lv.slog {
			return lv.name, lv.num
		}
	}
	return "TRACE", 5
}

// FromPython maps a Python level threshold (0..50) to an slog threshold: a
// record passes when its Python number is at least n. 0 passes everything.
func FromPython(n int) slog.Level {
	if n <= 0 {
		return LevelTrace - 1
	}
	for i := len(levels) - 1; i >= 0; i-- {
		if levels[i].num >= n {
			return levels[i].slog
		}
	}
	return LevelCritical + 1
}

// target is one destination of the log.
type target struct {
	path   string // absolute file path, "" for a stream
	w      io.Writer
	f      *os.File
	level  slog.Level
	format []logformat.Piece
	datefm string
	json   bool // one JSON object a line instead of format
}

// Log is an open event log.
type Log struct {
	mu      sync.Mutex
	level   slog.Level
	targets []*target
	bare    bool // no eventlog configured: warnings as bare messages
	err     error
}

// Open opens every target of cfg: files in append mode (relative paths
// resolved now, so Reopen works after a chdir), "STDOUT" and "STDERR" as
// the given writers. With cfg nil there is no event log, and records at
// warning level and above go to stderr as bare messages, as Python's
// last-resort handler does.
func Open(cfg *config.EventLog, stdout, stderr io.Writer) (*Log, error) {
	return OpenInherited(cfg, stdout, stderr, nil)
}

// OpenInherited is Open for a manager that took over from another one in
// place (an upgrade): inherited(i), when not nil, is the file of the i-th
// target, already open (see Files), used instead of opening its path.
func OpenInherited(cfg *config.EventLog, stdout, stderr io.Writer, inherited func(i int) *os.File) (*Log, error) {
	if cfg == nil {
		fm, _ := logformat.Parse("%(message)s")
		return &Log{level: LevelWarning, bare: true, targets: []*target{{w: stderr, format: fm, level: LevelTrace - 1}}}, nil
	}
	l := &Log{level: FromPython(cfg.Level)}
	for i, lf := range cfg.Logfiles {
		format := lf.Format
		if format == "" {
			format = config.DefaultLogFormat
		}
		fm, err := logformat.Parse(logformat.Unescape(format))
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("event log %s: %w", lf.Path, err)
		}
		t := &target{level: FromPython(lf.Level), format: fm, datefm: lf.DateFormat, json: cfg.Format == "json"}
		if t.datefm == "" {
			t.datefm = config.DefaultLogDateFormat
		}
		switch lf.Path {
		case "STDOUT":
			t.w = stdout
		case "STDERR":
			t.w = stderr
		default:
			abs, err := filepath.Abs(lf.Path)
			if err != nil {
				l.Close()
				return nil, fmt.Errorf("event log %s: %w", lf.Path, err)
			}
			var f *os.File
			if inherited != nil {
				f = inherited(i)
			}
			if f == nil {
				if f, err = os.OpenFile(abs, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666); err != nil {
					l.Close()
					return nil, fmt.Errorf("open event log: %w", err)
				}
			}
			t.path, t.f, t.w = abs, f, f
		}
		l.targets = append(l.targets, t)
	}
	return l, nil
}

// Files are the open files of the targets, by target (nil for a stream),
// for handing over to the next manager.
func (l *Log) Files() []*os.File {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*os.File
	if l.bare {
		return nil
	}
	for _, t := range l.targets {
		out = append(out, t.f)
	}
	return out
}

// Handler returns the slog handler writing to this log.
func (l *Log) Handler() slog.Handler { return &handler{log: l} }

// Reopen reopens every file at its path, so that a renamed (rotated) file
// is recreated: the new file is opened before the old one is closed.
func (l *Log) Reopen() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first error
	for _, t := range l.targets {
		if t.path == "" {
			continue
		}
		f, err := os.OpenFile(t.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
		if err != nil {
			if first == nil {
				first = fmt.Errorf("reopen event log: %w", err)
			}
			continue
		}
		old := t.f
		t.f, t.w = f, f
		old.Close()
	}
	return first
}

// Close closes the files.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.targets {
		if t.f != nil {
			t.f.Close()
			t.f = nil
			t.w = io.Discard
		}
	}
	return nil
}

// Err is the first write error, if any.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

var start = time.Now()

// render formats one record for a target.
func (t *target) render(buf *bytes.Buffer, r slog.Record, msg string) {
	name, num := pyLevel(r.Level)
	for _, p := range t.format {
		if p.Field == "" {
			buf.WriteString(p.Lit)
			continue
		}
		var v any
		switch p.Field {
		case "name", "module", "funcName", "threadName", "processName":
			v = "root"
			if p.Field == "threadName" {
				v = "MainThread"
			}
			if p.Field == "processName" {
				v = "MainProcess"
			}
		case "levelno":
			v = num
		case "levelname":
			v = name
		case "pathname", "filename":
			v = "zdaemon"
		case "lineno", "thread":
			v = 0
		case "created":
			v = float64(r.Time.UnixMicro()) / 1e6
		case "asctime":
			v = strftime(r.Time, t.datefm)
		case "msecs":
			v = r.Time.Nanosecond() / 1e6
		case "relativeCreated":
			v = float64(r.Time.Sub(start).Microseconds()) / 1e3
		case "message":
			v = msg
		case "process":
			v = os.Getpid()
		}
		conv := p.Conv
		if conv == 'r' {
			conv = 's'
		}
		if conv == 'd' {
			if f, ok := v.(float64); ok {
				v = int(f)
			}
		}
		if conv == 'f' {
			if n, ok := v.(int); ok {
				v = float64(n)
			}
		}
		if _, isStr := v.(string); isStr && conv != 's' {
			conv = 's'
		}
		fmt.Fprintf(buf, "%"+p.Spec+string(conv), v)
	}
	buf.WriteByte('\n')
}

// strftime formats t with the C directives Python's logging uses.
func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'I':
			fmt.Fprintf(&b, "%02d", (t.Hour()+11)%12+1)
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'b':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

// --- slog.Handler -------------------------------------------------------

type handler struct {
	log    *Log
	prefix string      // group prefix for attrs
	attrs  string      // pre-formatted attrs
	list   []slog.Attr // the same attrs, keys prefixed, for JSON
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.log.level }

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	if r.Level < h.log.level {
		return nil
	}
	var msg strings.Builder
	msg.WriteString(r.Message)
	msg.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&msg, h.prefix, a)
		return true
	})
	l := h.log
	l.mu.Lock()
	defer l.mu.Unlock()
	var buf bytes.Buffer
	for _, t := range l.targets {
		if r.Level < t.level {
			continue
		}
		buf.Reset()
		if t.json {
			h.renderJSON(&buf, r)
		} else {
			t.render(&buf, r, msg.String())
		}
		if _, err := t.w.Write(buf.Bytes()); err != nil && l.err == nil {
			l.err = fmt.Errorf("write event log %s: %w", t.path, err)
		}
	}
	return nil
}

func writeAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			writeAttr(b, p, ga)
		}
		return
	}
	v := a.Value.String()
	if v == "" || strings.ContainsAny(v, " \"=\n") {
		v = strconv.Quote(v)
	}
	b.WriteString(" " + prefix + a.Key + "=" + v)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.attrs)
	list := slices.Clone(h.list)
	for _, a := range as {
		writeAttr(&b, h.prefix, a)
		list = append(list, prefixed(h.prefix, a))
	}
	return &handler{log: h.log, prefix: h.prefix, attrs: b.String(), list: list}
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &handler{log: h.log, prefix: h.prefix + name + ".", attrs: h.attrs, list: h.list}
}

// prefixed is a with its key under the handler's groups ("a.b.key").
func prefixed(prefix string, a slog.Attr) slog.Attr {
	if prefix != "" && a.Key != "" {
		a.Key = prefix + a.Key
	}
	return a
}

// jsonOptions name levels as the text lines do (INFO, BLATHER, TRACE)
// and add the logger's name, as the original's records carry it.
var jsonOptions = &slog.HandlerOptions{
	Level: LevelTrace - 1,
	ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.LevelKey {
			name, _ := pyLevel(a.Value.Any().(slog.Level))
			return slog.String(slog.LevelKey, name)
		}
		return a
	},
}

// renderJSON writes r as one JSON object and a newline, with slog's own
// JSON handler: {"time":...,"level":"INFO","msg":...,"logger":"root",...}.
func (h *handler) renderJSON(buf *bytes.Buffer, r slog.Record) {
	out := slog.NewRecord(r.Time, r.Level, r.Message, 0)
	out.AddAttrs(slog.String("logger", "root"))
	out.AddAttrs(h.list...)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(prefixed(h.prefix, a))
		return true
	})
	_ = slog.NewJSONHandler(buf, jsonOptions).Handle(context.Background(), out)
}
