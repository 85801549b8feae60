package eventlog

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/logformat"
)

var when = time.Date(2026, 11, 24, 1, 54, 25, 123456789, time.Local)

func logAt(h slog.Handler, level slog.Level, msg string, attrs ...slog.Attr) {
	r := slog.NewRecord(when, level, msg, 0)
	r.AddAttrs(attrs...)
	if h.Enabled(context.Background(), level) {
		_ = h.Handle(context.Background(), r)
	}
}

func TestFormats(t *testing.T) {
	tests := []struct {
		name   string
		lf     config.Logfile
		level  int
		record slog.Level
		msg    string
		attrs  []slog.Attr
		want   string
	}{
		{"default", config.Logfile{Path: "STDOUT"}, 20, LevelInfo, "spawned process pid=13272", nil,
			"------\n2026-11-24T01:54:25 INFO root spawned process pid=13272\n"},
		{"critical", config.Logfile{Path: "STDOUT", Format: "%(levelname)s:%(levelno)d:%(message)s"}, 0, LevelCritical, "quit", nil,
			"CRITICAL:50:quit\n"},
		{"width and escapes", config.Logfile{Path: "STDOUT", Format: `[%(levelname)-8s]\t%(message)s %%`}, 0, LevelWarning, "w", nil,
			"[WARNING ]\tw %\n"},
		{"date format and msecs", config.Logfile{Path: "STDOUT", Format: "%(asctime)s.%(msecs)03d %(message)s", DateFormat: "%d/%b/%Y %H:%M"}, 0, LevelInfo, "x", nil,
			"24/Nov/2026 01:54.123 x\n"},
		{"attrs", config.Logfile{Path: "STDOUT", Format: "%(message)s"}, 0, LevelInfo, "exit",
			[]slog.Attr{slog.Int("pid", 7), slog.String("why", "two words")}, "exit pid=7 why=\"two words\"\n"},
		{"logger level filters", config.Logfile{Path: "STDOUT"}, 30, LevelInfo, "hidden", nil, ""},
		{"handler level filters", config.Logfile{Path: "STDOUT", Level: 40}, 0, LevelWarning, "hidden", nil, ""},
		{"debug passes notset", config.Logfile{Path: "STDOUT", Format: "%(levelname)s"}, 10, LevelDebug, "d", nil, "DEBUG\n"},
		{"blather", config.Logfile{Path: "STDOUT", Format: "%(levelname)s %(levelno)d"}, 0, LevelBlather, "b", nil, "BLATHER 15\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			l, err := Open(&config.EventLog{Level: tt.level, Logfiles: []config.Logfile{tt.lf}}, &out, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			logAt(l.Handler(), tt.record, tt.msg, tt.attrs...)
			if out.String() != tt.want {
				t.Fatalf("got %q, want %q", out.String(), tt.want)
			}
		})
	}
}

func TestNoEventLogWarnsBare(t *testing.T) {
	var errb bytes.Buffer
	l, _ := Open(nil, nil, &errb)
	h := l.Handler()
	logAt(h, LevelInfo, "quiet")
	logAt(h, LevelWarning, "Unlinking stale socket /x")
	logAt(h, LevelCritical, "daemon manager killed by SIGTERM")
	if got := errb.String(); got != "Unlinking stale socket /x\ndaemon manager killed by SIGTERM\n" {
		t.Fatalf("got %q", got)
	}
}

func TestReopenAfterRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "event.log")
	l, err := Open(&config.EventLog{Level: 20, Logfiles: []config.Logfile{{Path: path, Format: "%(message)s"}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h := l.Handler()
	logAt(h, LevelInfo, "one")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	logAt(h, LevelInfo, "two")
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	logAt(h, LevelInfo, "three")
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if string(old) != "one\ntwo\n" || string(cur) != "three\n" {
		t.Fatalf("old %q, new %q", old, cur)
	}
	if l.Err() != nil {
		t.Fatal(l.Err())
	}
}

func TestFromPython(t *testing.T) {
	for _, tt := range []struct {
		n    int
		pass []slog.Level
		drop []slog.Level
	}{
		{0, []slog.Level{LevelTrace}, nil},
		{5, []slog.Level{LevelTrace}, nil},
		{10, []slog.Level{LevelDebug}, []slog.Level{LevelTrace}},
		{15, []slog.Level{LevelBlather}, []slog.Level{LevelDebug}},
		{20, []slog.Level{LevelInfo}, []slog.Level{LevelBlather}},
		{25, []slog.Level{LevelWarning}, []slog.Level{LevelInfo}},
		{30, []slog.Level{LevelWarning}, []slog.Level{LevelInfo}},
		{50, []slog.Level{LevelCritical}, []slog.Level{LevelError}},
	} {
		th := FromPython(tt.n)
		for _, l := range tt.pass {
			if l < th {
				t.Errorf("FromPython(%d) drops %v", tt.n, l)
			}
		}
		for _, l := range tt.drop {
			if l >= th {
				t.Errorf("FromPython(%d) passes %v", tt.n, l)
			}
		}
	}
}

func FuzzValidateFormat(f *testing.F) {
	f.Add(config.DefaultLogFormat)
	f.Add("%(levelname)-8s %%")
	f.Fuzz(func(t *testing.T, format string) {
		if logformat.Validate(format) != nil {
			return
		}
		var out bytes.Buffer
		l, err := Open(&config.EventLog{Logfiles: []config.Logfile{{Path: "STDOUT", Format: format}}}, &out, nil)
		if err != nil {
			t.Fatalf("valid format %q failed to open: %v", format, err)
		}
		logAt(l.Handler(), LevelInfo, "m")
	})
}

// format = "json": one JSON object a line, with the text lines' level
// names, the logger's name and the attributes (groups as dotted keys);
// levels still filter.
func TestJSON(t *testing.T) {
	var out bytes.Buffer
	l, err := Open(&config.EventLog{Level: 15, Format: "json", Logfiles: []config.Logfile{{Path: "STDOUT"}}}, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h := l.Handler()
	logAt(h, LevelInfo, "spawned process", slog.Int("pid", 7))
	logAt(h.WithGroup("sink").WithAttrs([]slog.Attr{slog.String("kind", "file")}), LevelBlather, "restarted \"twice\"\n", slog.Bool("ok", true))
	logAt(h, LevelDebug, "hidden")
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines %q", lines)
	}
	want := []map[string]any{
		{"level": "INFO", "msg": "spawned process", "logger": "root", "pid": float64(7)},
		{"level": "BLATHER", "msg": "restarted \"twice\"\n", "logger": "root", "sink.kind": "file", "sink.ok": true},
	}
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d %q: %v", i, line, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, got["time"].(string)); err != nil {
			t.Errorf("time %v: %v", got["time"], err)
		}
		delete(got, "time")
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("line %d: %v, want %v", i, got, want[i])
		}
	}
}
