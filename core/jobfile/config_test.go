package jobfile

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/listen"
)

var update = flag.Bool("update", false, "update golden files")

func TestLoadValid(t *testing.T) {
	def := config.Default
	tests := []struct {
		file string
		want func() *config.Config
	}{
		{"minimal.hcl", func() *config.Config { c := def(); c.Program = []string{"sleep", "100"}; return c }},
		{"full.hcl", func() *config.Config {
			c := def()
			c.Program = []string{"sh", "-c", "exit 1"}
			c.SocketName = "/run/app/zdsock"
			c.Daemon = false
			c.Directory = "/srv/app"
			c.BackoffLimit = 4
			c.Forever = true
			c.ExitCodes = []int{0, 3, -1}
			c.StartTimeout = 12 * time.Second
			c.StopTimeout = 1500 * time.Millisecond
			c.User = "65534"
			c.Umask = 0o27
			c.DefaultToInteractive = false
			c.Logfile = "app.log"
			c.Transcript = "out.log"
			c.Prompt = "app> "
			c.SignalGroup = false
			c.StartGrace = 100 * time.Millisecond
			return c
		}},
		{"strings.hcl", func() *config.Config {
			c := def()
			c.Program = []string{"sleep", "100"}
			c.BackoffLimit = 7
			c.Forever = true
			c.ExitCodes = []int{0, 1, 3}
			c.StartTimeout = 5 * time.Minute
			c.StopTimeout = 30 * time.Second
			c.Umask = 0o77
			return c
		}},
		{"environment.hcl", func() *config.Config {
			c := def()
			c.Program = []string{"env"}
			c.Environment = []config.EnvVar{{Name: "LD_LIBRARY_PATH", Value: "/home/foo/lib"}, {Name: "HOME", Value: "/home/foo"},
				{Name: "MyVar", Value: "kept case"}, {Name: "EMPTY", Value: ""}, {Name: "PORT", Value: "8080"}}
			return c
		}},
		{"eventlog.hcl", func() *config.Config {
			c := def()
			c.Program = []string{"sleep", "1"}
			c.ExitCodes = []int{}
			c.EventLog = &config.EventLog{Level: 10, Logfiles: []config.Logfile{
				{Path: "STDOUT", Format: config.DefaultLogFormat, DateFormat: config.DefaultLogDateFormat},
				{Path: "/var/log/zd.log", Level: 30, Format: "%(levelname)s %(message)s", DateFormat: "%H:%M"},
			}}
			return c
		}},
		{"healthchecks.hcl", func() *config.Config {
			c := def()
			c.Program = []string{"sleep", "100"}
			c.StartTest = &config.CheckConfig{PluginConfig: config.PluginConfig{Kind: "program", Settings: map[string]any{"command": "cat ready"}},
				Interval: time.Second, Timeout: config.DefaultCheckTimeout}
			return c
		}},
		{"listen.hcl", func() *config.Config {
			c := def()
			c.Program = []string{"server"}
			c.StopSignal, c.ReloadSignal = syscall.SIGQUIT, syscall.SIGUSR1
			c.Listen = []listen.Spec{
				{Name: "http", Address: "0.0.0.0:8080"},
				{Name: "admin", Address: "unix:/run/app/admin.sock", Backlog: 16, Mode: 0o660},
				{Name: "v6", Address: "[::1]:8080"},
			}
			return c
		}},
		{"liveness.hcl", func() *config.Config {
			c := def()
			c.Program = []string{"sleep", "100"}
			c.Watchdog = 30 * time.Second
			return c
		}},
		{"numeric-level.hcl", func() *config.Config {
			c := def()
			c.Program = []string{"true"}
			c.EventLog = &config.EventLog{Level: 15}
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "valid", tt.file)
			got, _, diags := Load(path)
			if diags.HasErrors() {
				t.Fatalf("diagnostics: %v", diags)
			}
			want := tt.want()
			want.ConfigFile, _ = filepath.Abs(path)
			// Plugin blocks are decoded later, against the plugin's schema:
			// here only their labels and core attributes count.
			var kinds []string
			for _, b := range got.CheckBlocks {
				kinds = append(kinds, fmt.Sprintf("%s %v %v", b.Kind, b.Interval, b.Timeout))
			}
			if tt.file == "healthchecks.hcl" && strings.Join(kinds, ",") != "tcp 250ms 2s,notify 0s 0s" {
				t.Errorf("check blocks: %v", kinds)
			}
			var live []string
			for _, b := range got.CheckBlocks {
				if b.Liveness != nil {
					live = append(live, fmt.Sprintf("%s %+v", b.Kind, *b.Liveness))
				}
			}
			if tt.file == "liveness.hcl" && strings.Join(live, ",") != "http {Interval:10s Failures:5 Grace:30s},tcp {Interval:1s Failures:3 Grace:0s}" {
				t.Errorf("liveness blocks: %v", live)
			}
			got.Sources = nil // where values came from: TestCheckHost
			if diff := cmp.Diff(want, got.Config); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
		})
	}
}

// TestLoadInvalid renders each broken file's diagnostics, with source
// lines, and compares them with the golden file next to it.
func TestLoadInvalid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.hcl"))
	if err != nil || len(files) < 12 {
		t.Fatalf("fixtures: %v (%d)", err, len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, fm, diags := Load(path)
			if !diags.HasErrors() {
				t.Fatal("no error diagnostics")
			}
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic without a source range: %s", d.Summary)
				}
			}
			var buf bytes.Buffer
			if err := hcl.NewDiagnosticTextWriter(&buf, fm, 78, false).WriteDiagnostics(diags); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(path, ".hcl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run with -update): %v", err)
			}
			if diff := cmp.Diff(string(want), buf.String()); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, _, diags := Load(filepath.Join(t.TempDir(), "nope.hcl"))
	if !diags.HasErrors() || diags[0].Summary != "Failed to read job file" {
		t.Fatalf("diags %v", diags)
	}
}

// Input that never ends, or is far too large, is refused after
// MaxFileSize bytes instead of being read into memory.
func TestLoadUnboundedInput(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.hcl")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# comment\n"), MaxFileSize/10+1), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/zero", big} {
		_, _, diags := Load(path)
		if !diags.HasErrors() || !strings.Contains(diags[0].Detail, "is larger than 1024 KiB") {
			t.Errorf("%s: diags %v", path, diags)
		}
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		key, value string
		err        string
		check      func(*config.Config) bool
	}{
		{"backoff-limit", "x", "invalid literal for int() with base 10: 'x'", nil},
		{"backoff-limit", " 1_0 ", "", func(c *config.Config) bool { return c.BackoffLimit == 10 }},
		{"backoff-limit", "1.5", "invalid literal for int() with base 10: '1.5'", nil},
		{"backoff-limit", "0", "0 is less than 1", nil},
		{"umask", "9", "invalid literal for int() with base 8: '9'", nil},
		{"umask", "0o22", "", func(c *config.Config) bool { return c.Umask == 0o22 }},
		{"umask", "0", "", func(c *config.Config) bool { return c.Umask == 0 }},
		{"exit-codes", "a,b", "invalid literal for int() with base 10: 'a'", nil},
		{"exit-codes", "", "", func(c *config.Config) bool { return len(c.ExitCodes) == 0 && c.ExitCodes != nil }},
		{"exit-codes", "0, 1 ,3", "", func(c *config.Config) bool { return cmp.Equal(c.ExitCodes, []int{0, 1, 3}) }},
		{"forever", "maybe", "not a valid boolean value: 'maybe'", nil},
		{"forever", "YES", "", func(c *config.Config) bool { return c.Forever }},
		{"daemon", "Off", "", func(c *config.Config) bool { return !c.Daemon }},
		{"start-timeout", "x", "invalid literal for int() with base 10: 'x'", nil},
		{"start-timeout", "2", "", func(c *config.Config) bool { return c.StartTimeout == 2*time.Second }},
		{"stop-timeout", "1.5s", "", func(c *config.Config) bool { return c.StopTimeout == 1500*time.Millisecond }},
		{"program", "sleep  100", "", func(c *config.Config) bool { return cmp.Equal(c.Program, []string{"sleep", "100"}) }},
		{"PROGRAM", "x", "", func(c *config.Config) bool { return cmp.Equal(c.Program, []string{"x"}) }},
		{"foo", "x", "'foo' is not a known key name", nil},
		{"backoff_limit", "3", "'backoff_limit' is not a known key name", nil},
		{"start-test-program", "cat  x", "", func(c *config.Config) bool {
			return c.StartTest != nil && c.StartTest.Kind == "program" && c.StartTest.Settings["command"] == "cat x" && c.StartTest.Interval == time.Second
		}},
		{"start-test-program", " ", "start-test-program must name a command", nil},
		{"watchdog", "30s", "", func(c *config.Config) bool { return c.Watchdog == 30*time.Second }},
		{"watchdog", "2", "", func(c *config.Config) bool { return c.Watchdog == 2*time.Second }},
		{"watchdog", "0", "", func(c *config.Config) bool { return c.Watchdog == 0 }},
		{"watchdog", "999ms", "999ms is shorter than 1s (0 turns the watchdog off)", nil},
		{"watchdog", "-1s", "-1s is negative", nil},
	}
	for _, tt := range tests {
		c := config.Default()
		err := Set(c, tt.key, tt.value)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Set(%q, %q) = %v, want %q", tt.key, tt.value, err, tt.err)
			}
			continue
		}
		if err != nil || !tt.check(c) {
			t.Errorf("Set(%q, %q) = %v, config %+v", tt.key, tt.value, err, c)
		}
	}
}

func TestOverride(t *testing.T) {
	c := config.Default()
	for _, o := range []struct{ path, value string }{
		{"runner/backoff-limit", "7"},
		{"Runner/FOREVER", "on"},
		{"environment/MyVar", "1"},
		{"environment/MyVar", "2"},
		{"eventlog/level", "debug"},
	} {
		if err := Override(c, o.path, o.value); err != nil {
			t.Fatalf("Override(%q): %v", o.path, err)
		}
	}
	if c.BackoffLimit != 7 || !c.Forever || len(c.Environment) != 1 || c.Environment[0].Value != "2" || c.EventLog.Level != 10 {
		t.Fatalf("config %+v", c)
	}
	for _, bad := range []struct{ path, err string }{
		{"runner//x", "syntax error in -X path 'runner//x'"},
		{"runner/foo", "'foo' is not a known key name"},
		{"zeo/address", "no such setting 'zeo/address'"},
		{"runner", "no such setting 'runner'"},
	} {
		if err := Override(c, bad.path, "1"); err == nil || err.Error() != bad.err {
			t.Errorf("Override(%q) = %v, want %q", bad.path, err, bad.err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.hcl"))
		for _, p := range files {
			src, _ := os.ReadFile(p)
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, _, diags := Parse(src, "fuzz.hcl")
		if diags.HasErrors() {
			return
		}
		if cfg == nil || len(cfg.Program) == 0 {
			t.Fatalf("no errors but no program: %+v", cfg)
		}
		if cfg.Watchdog < 0 || (cfg.Watchdog > 0 && cfg.Watchdog < config.MinWatchdog) {
			t.Fatalf("watchdog %v accepted", cfg.Watchdog)
		}
		for _, b := range cfg.CheckBlocks {
			if lv := b.Liveness; lv != nil && (lv.Interval <= 0 || lv.Failures < 1 || lv.Grace < 0) {
				t.Fatalf("liveness %+v accepted", *lv)
			}
		}
		if cfg.BackoffLimit < 1 || cfg.StartTimeout < 0 || cfg.StopTimeout < 0 || cfg.Umask < 0 || cfg.Umask > 0o777 {
			t.Fatalf("out-of-range config accepted: %+v", cfg)
		}
	})
}
