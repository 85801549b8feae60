package zconfig_test

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/jobfile"
	"github.com/zdaemon/zdaemon/core/zconfig"
)

var update = flag.Bool("update", false, "update golden files")

// testEnv is the environment $(NAME) sees in these tests.
func testEnv(name string) (string, bool) {
	v, ok := map[string]string{"ZD_TEST_HOME": "/home/zd", "PWD": "/srv"}[name]
	return v, ok
}

// convert parses and translates a file; the output is the translation, or
// the rendered diagnostics, plus warnings.
func convert(t testing.TB, path string, env zconfig.Env) (string, []byte, hcl.Diagnostics) {
	t.Helper()
	doc, diags := zconfig.ParseFile(path, env)
	var out []byte
	if !diags.HasErrors() {
		var more hcl.Diagnostics
		out, more = zconfig.Translate(doc)
		diags = append(diags, more...)
	}
	var buf bytes.Buffer
	if len(diags) > 0 {
		files := map[string]*hcl.File{}
		if doc != nil {
			files = doc.Files
		}
		_ = hcl.NewDiagnosticTextWriter(&buf, files, 78, false).WriteDiagnostics(diags)
	}
	return buf.String(), out, diags
}

// TestGolden converts every testdata/legacy/*.conf: a good file must match
// <case>.hcl and load in core/jobfile without errors; a broken one
// (err-*.conf) must match <case>.golden, its rendered diagnostics.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "legacy", "*.conf"))
	if len(files) < 20 {
		t.Fatalf("only %d fixtures", len(files))
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".conf")
		t.Run(name, func(t *testing.T) {
			rendered, out, diags := convert(t, path, testEnv)
			wantErr := strings.HasPrefix(name, "err-")
			if diags.HasErrors() != wantErr {
				t.Fatalf("errors: %v, want %v\n%s", diags.HasErrors(), wantErr, rendered)
			}
			for _, d := range diags {
				if d.Subject == nil || d.Subject.Filename == "" || d.Subject.Start.Line < 1 {
					t.Errorf("diagnostic without a position in the .conf file: %s", d.Summary)
				}
			}
			golden := strings.TrimSuffix(path, ".conf") + ".golden"
			got := rendered
			if !wantErr {
				golden = strings.TrimSuffix(path, ".conf") + ".hcl"
				got = string(out)
				if rendered != "" {
					got += "\n# warnings:\n# " + strings.ReplaceAll(strings.TrimSpace(rendered), "\n", "\n# ") + "\n"
				}
				if _, _, cdiags := jobfile.Parse(out, name+".hcl"); cdiags.HasErrors() {
					t.Fatalf("translation does not load: %v\n%s", cdiags, out)
				}
			}
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run with -update): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
		})
	}
}

// TestSettings checks the effective settings of a few translations.
func TestSettings(t *testing.T) {
	load := func(name string) *config.Config {
		t.Helper()
		_, out, diags := convert(t, filepath.Join("testdata", "legacy", name), testEnv)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", name, diags)
		}
		cfg, _, cdiags := jobfile.Parse(out, name)
		if cdiags.HasErrors() {
			t.Fatal(cdiags)
		}
		return cfg.Config
	}
	c := load("defines.conf")
	if !cmp.Equal(c.Program, []string{"/srv/app/bin/run", "--price", "$5", "/home/zd"}) || c.Directory != "/srv/app" || c.SocketName != "/srv/run/zdsock" {
		t.Errorf("defines: %+v", c)
	}
	c = load("case-folding.conf")
	if c.BackoffLimit != 3 || !c.Forever || c.Daemon || len(c.Environment) != 2 || c.Environment[0] != (config.EnvVar{Name: "MyVar", Value: "kept case"}) || c.Environment[1] != (config.EnvVar{Name: "EMPTY"}) {
		t.Errorf("case folding: %+v", c)
	}
	c = load("include-main.conf")
	if !cmp.Equal(c.Program, []string{"sleep", "5"}) || c.BackoffLimit != 4 || c.Transcript != "/var/log/app/out.log" || c.EventLog.Logfiles[0].Path != "/var/log/app/event.log" {
		t.Errorf("include: %+v", c)
	}
	c = load("crlf-import.conf")
	if !cmp.Equal(c.ExitCodes, []int{0, 1, 3}) || c.Umask != 0o77 {
		t.Errorf("crlf: %+v", c)
	}
	c = load("nested-eventlog.conf")
	if c.EventLog.Level != 10 || c.EventLog.Logfiles[0].Path != "runner-event.log" {
		t.Errorf("nested eventlog: %+v", c.EventLog)
	}
}

func TestLooksLegacy(t *testing.T) {
	for src, want := range map[string]bool{
		"<runner>\n program x\n</runner>\n":        true,
		"# comment\n\n%define a b\n":               true,
		"  \r\n<RUNNER>":                           true,
		"runner {\n  program = \"x\"\n}\n":         false,
		"# comment\nrunner {\n}\n":                 false,
		"// hcl comment\n<not really>\n":           true,
		"":                                         false,
		"/* block */ runner { program = \"x\" }\n": false,
	} {
		if got := zconfig.LooksLegacy([]byte(src)); got != want {
			t.Errorf("LooksLegacy(%q) = %v, want %v", src, got, want)
		}
	}
}

// corpusDir is the shared corpus of real ZConfig files (beside the repo).
const corpusDir = "../../../shared/corpus/zconfig"

type verdict struct {
	file, result, detail, condition string
}

func readVerdicts(t *testing.T) []verdict {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "EXPECTED_RAW_PARSE.tsv"))
	if err != nil {
		t.Skipf("SKIPPED: the shared corpus is not here (%v)", err)
	}
	defer f.Close()
	var out []verdict
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		for len(cols) < 4 {
			cols = append(cols, "")
		}
		out = append(out, verdict{cols[0], cols[1], cols[2], cols[3]})
	}
	return out
}

var lineRx = regexp.MustCompile(`\(line (\d+)\)`)

// TestCorpus reads every real-world file with the original parser's
// verdict: files that parse give a job (or, without <runner>, the "no
// runner section" error); files that fail give an error at the same line.
func TestCorpus(t *testing.T) {
	verdicts := readVerdicts(t)
	if len(verdicts) < 70 {
		t.Fatalf("only %d verdicts", len(verdicts))
	}
	noEnv := func(name string) (string, bool) {
		if name == "PWD" || name == "HOME" {
			return "/srv", true
		}
		return "", false
	}
	runners := 0
	for _, v := range verdicts {
		t.Run(v.file, func(t *testing.T) {
			path := filepath.Join(corpusDir, v.file)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rendered, out, diags := convert(t, path, noEnv)
			hasRunner := regexp.MustCompile(`(?mi)^\s*<runner\b`).Match(src)
			switch v.result {
			case "OK":
				if !hasRunner {
					if len(diags) != 1 || diags[0].Summary != "no runner section" {
						t.Fatalf("want only the no-runner error, got:\n%s", rendered)
					}
					return
				}
				runners++
				if diags.HasErrors() {
					t.Fatalf("parses in ZConfig, fails here:\n%s", rendered)
				}
				cfg, _, cdiags := jobfile.Parse(out, v.file+".hcl")
				if cdiags.HasErrors() || len(cfg.Program) == 0 {
					t.Fatalf("translation does not load: %v\n%s", cdiags, out)
				}
				doc, _ := zconfig.ParseFile(path, noEnv)
				checkWriter(t, doc, out)
			case "ERROR":
				if !diags.HasErrors() {
					t.Fatalf("ZConfig fails (%s), this parses:\n%s", v.detail, out)
				}
				msg := v.detail[strings.Index(v.detail, ": ")+2:]
				msg = strings.TrimSpace(lineRx.ReplaceAllString(msg, ""))
				want, _, _ := strings.Cut(msg, ":")
				if !strings.HasPrefix(diags[0].Summary, want) {
					t.Errorf("error %q, want one like %q", diags[0].Summary, msg)
				}
				if m := lineRx.FindStringSubmatch(v.detail); m != nil {
					line, _ := strconv.Atoi(m[1])
					if diags[0].Subject == nil || diags[0].Subject.Start.Line != line {
						t.Errorf("error at %v, want line %d", diags[0].Subject, line)
					}
				}
			default:
				t.Fatalf("unknown verdict %q", v.result)
			}
		})
	}
	if runners < 15 {
		t.Errorf("only %d runner files parsed", runners)
	}
}

// TestCorpusConditions checks the verdicts that hold under a condition:
// with the environment set, or from the include tree under original names.
func TestCorpusConditions(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("SKIPPED: the shared corpus is not here (%v)", err)
	}
	env := func(vars ...string) zconfig.Env {
		return func(name string) (string, bool) {
			for _, v := range vars {
				if v == name {
					return "1", true
				}
			}
			return "", false
		}
	}
	for _, tc := range []struct {
		path string
		env  zconfig.Env
	}{
		{"BCCVL__zeoserver__files__zeoserver.conf", env("ZEO_VAR", "ZEO_CONF")},
		{"plone__plone-zeo__etc__zeo.conf", env("ZEO_PORT", "ZEO_READ_ONLY", "ZEO_INVALIDATION_QUEUE_SIZE", "ZEO_PACK_KEEP_OLD")},
		{"include-trees/ZConfig-tests-input/include.conf", env()},
		{"include-trees/ZConfig-tests-input/outer.conf", env()},
	} {
		doc, diags := zconfig.ParseFile(filepath.Join(corpusDir, tc.path), tc.env)
		if diags.HasErrors() {
			t.Errorf("%s: %v", tc.path, diags)
			continue
		}
		if len(doc.Root.Sections)+len(doc.Root.Keys) == 0 {
			t.Errorf("%s: nothing read", tc.path)
		}
	}
}

// checkWriter checks a translation against hclwrite: the same bytes as
// hclwrite writes for the same items, and it reads back to the values
// written.
func checkWriter(t testing.TB, doc *zconfig.Document, out []byte) {
	t.Helper()
	if want := zconfig.TranslateWithHCLWrite(doc); !bytes.Equal(out, want) {
		t.Fatalf("the output is not hclwrite's (-hclwrite +got)\n%s", cmp.Diff(string(want), string(out)))
	}
	if err := zconfig.CheckValues(doc, out); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestWriter checks the HCL written for every fixture, and for values
// only the environment can bring in ($(NAME)): line breaks, control
// characters and bytes that are not UTF-8.
func TestWriter(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "legacy", "*.conf"))
	for _, path := range files {
		if strings.HasPrefix(filepath.Base(path), "err-") {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			doc, diags := zconfig.ParseFile(path, testEnv)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			out, diags := zconfig.Translate(doc)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			checkWriter(t, doc, out)
		})
	}
	env := func(name string) (string, bool) {
		v, ok := map[string]string{
			"LINES":  "one\ntwo\r\nthree\rfour\x00\x1b[0m\u2028",
			"BYTES":  "caf\xc3\xa9 \xff\xfe \xc3 end\xe2\x82",
			"MARKUP": `${x} %{ if } $${y} %%{z} "\" \n`,
		}[name]
		return v, ok
	}
	src := "<runner>\n  program run $(BYTES) $(MARKUP)\n  transcript $(LINES)\n  user $(BYTES)\n</runner>\n" +
		"<environment>\n  A $(LINES)\n  BB $(BYTES)\n  CCC $(MARKUP)\n</environment>\n"
	doc, diags := zconfig.Parse([]byte(src), "env.conf", env)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	out, diags := zconfig.Translate(doc)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	checkWriter(t, doc, out)
	want := `runner {
  program    = ["run", "café", "��", "�", "end��", "$${x}", "%%{", "if", "}", "$$${y}", "%%%{z}", "\"\\\"", "\\n"]
  transcript = "one\ntwo\r\nthree\rfour\u0000\u001b[0m\u2028"
  user       = "café �� � end��"
}

environment {
  A   = "one\ntwo\r\nthree\rfour\u0000\u001b[0m\u2028"
  BB  = "café �� � end��"
  CCC = "$${x} %%{ if } $$${y} %%%{z} \"\\\" \\n"
}
`
	if string(out) != want {
		t.Errorf("(-want +got)\n%s", cmp.Diff(want, string(out)))
	}
}

// FuzzTranslate: never panics, every successful translation loads in
// core/jobfile without error diagnostics, is what hclwrite would write, and
// reads back to the values translated.
func FuzzTranslate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "legacy", "*.conf"))
	for _, p := range files {
		src, _ := os.ReadFile(p)
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		doc, diags := zconfig.Parse(src, filepath.Join(t.TempDir(), "fuzz.conf"), testEnv)
		if diags.HasErrors() {
			return
		}
		out, diags := zconfig.Translate(doc)
		if diags.HasErrors() {
			return
		}
		if _, _, cdiags := jobfile.Parse(out, "fuzz.hcl"); cdiags.HasErrors() {
			t.Fatalf("translation does not load: %v\n%s", cdiags, out)
		}
		checkWriter(t, doc, out)
	})
}

// %include of something endless, or the same file over and over, stops at
// MaxInput bytes for the whole configuration, with the error at the
// %include that went over.
func TestIncludeUnbounded(t *testing.T) {
	dir := t.TempDir()
	chunk := filepath.Join(dir, "chunk.conf")
	if err := os.WriteFile(chunk, []byte(strings.Repeat("# padding\n", 100_000)), 0o644); err != nil { // 1 MB
		t.Fatal(err)
	}
	tests := []struct{ name, src, want string }{
		{"dev-zero", "<runner>\n  program sleep 1\n</runner>\n%include /dev/zero\n", "include target cannot be read: /dev/zero"},
		{"repeated", "<runner>\n  program sleep 1\n</runner>\n" + strings.Repeat("%include chunk.conf\n", 8), "include target cannot be read: chunk.conf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			main := filepath.Join(dir, tt.name+".conf")
			if err := os.WriteFile(main, []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, diags := zconfig.ParseFile(main, testEnv)
			if !diags.HasErrors() || diags[0].Summary != tt.want || !strings.Contains(diags[0].Detail, "larger than 4 MiB") {
				t.Fatalf("diags %v", diags)
			}
			if diags[0].Subject == nil || diags[0].Subject.Filename != main {
				t.Fatalf("error not at the %%include line: %+v", diags[0].Subject)
			}
		})
	}
}

// Every setting the translation carries over says where its value is in
// the .conf file, under the key core/jobfile keeps its ranges by, so that
// checks of the translated job point at what the user wrote.
func TestOrigins(t *testing.T) {
	src := "<runner>\n  program sleep 1\n  socket-name /run/app/zdsock\n</runner>\n<eventlog>\n  <syslog>\n  </syslog>\n  <logfile>\n    path /var/log/a.log\n  </logfile>\n</eventlog>\n"
	doc, diags := zconfig.Parse([]byte(src), "app.conf", nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	out, origins, diags := zconfig.TranslateWithOrigins(doc)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	cfg, _, cdiags := jobfile.Parse(out, "app.conf (as HCL)")
	if cdiags.HasErrors() {
		t.Fatal(cdiags)
	}
	want := map[string]string{
		"runner/program":          "app.conf:2,11-18",
		"runner/socket-name":      "app.conf:3,15-30",
		"eventlog/logfile/0/path": "app.conf:9,10-24",
	}
	for key, at := range want {
		r, ok := origins[key]
		if !ok {
			t.Errorf("no origin for %s", key)
			continue
		}
		if got := r.String(); got != at {
			t.Errorf("origin of %s is %s, want %s", key, got, at)
		}
		if _, ok := cfg.Sources[key]; !ok {
			t.Errorf("core/jobfile keeps no range under %s", key)
		}
	}
}
