package jobfile

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckHost(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		attrs string // inside runner, after program
		extra string // after the runner block
		// summary and line of each error, in order
		want []string
	}{
		{"fine", fmt.Sprintf("socket-name = %q\ndirectory = %q\ntranscript = %q\nlogfile = \"app.log\"\nuser = \"root\"\n",
			dir+"/new/zdsock", dir+"/srv/app", dir+"/srv/out.log"), "", nil},
		{"socket-two-levels", fmt.Sprintf("socket-name = %q\n", dir+"/a/b/zdsock"), "", []string{"Socket directory does not exist:3"}},
		{"directory-two-levels", fmt.Sprintf("directory = %q\n", dir+"/a/b"), "", []string{"Directory does not exist:3"}},
		{"unknown-user", "user = \"nosuchuserzd\"\n", "", []string{"Unknown user:3"}},
		{"transcript", fmt.Sprintf("transcript = %q\n", dir+"/a/out.log"), "", []string{"Missing directory of transcript:3"}},
		{"transcript-relative-to-directory", fmt.Sprintf("directory = %q\ntranscript = \"srv/out.log\"\n", dir), "", nil},
		{"transcript-relative-missing", fmt.Sprintf("directory = %q\ntranscript = \"nosuch/out.log\"\n", dir), "", []string{"Missing directory of transcript:4"}},
		{"bare-file-names", "transcript = \"out.log\"\nlogfile = \"app.log\"\n", "", nil},
		{"logfile", fmt.Sprintf("logfile = %q\n", dir+"/a/app.log"), "", []string{"Missing directory of logfile:3"}},
		{"file-sink-block", "", fmt.Sprintf("transcript \"file\" {\n  path = %q\n}\n", dir+"/a/out.log"), []string{"Missing directory of transcript:5"}},
		{"file-sink-block-fine", "", fmt.Sprintf("transcript \"file\" {\n  path = %q\n}\n", dir+"/srv/out.log"), nil},
		{"external-sink-block", "", "transcript \"syslog\" {\n  plugin = \"/x/sink\"\n  path = \"/nonexistent-zd/a/b\"\n}\n", nil},
		{"eventlog", "", fmt.Sprintf("eventlog {\n  logfile {\n    path = \"STDOUT\"\n  }\n  logfile {\n    path = %q\n  }\n}\n", dir+"/a/zd.log"),
			[]string{"Missing directory of event log file:9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "runner {\nprogram = \"sleep 1\"\n" + tt.attrs + "}\n" + tt.extra
			cfg, _, diags := Parse([]byte(src), "job.hcl")
			if diags.HasErrors() {
				t.Fatalf("parse: %v", diags)
			}
			var got []string
			for _, d := range CheckHost(cfg) {
				got = append(got, fmt.Sprintf("%s:%d", d.Summary, d.Subject.Start.Line))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// A value the command line sets is no longer the file's: CheckHost leaves
// it to the command layer, which names the option.
func TestCheckHostSkipsCommandLine(t *testing.T) {
	cfg, _, diags := Parse([]byte("runner {\nprogram = \"x\"\nuser = \"nosuchuserzd\"\ntranscript = \"/nonexistent-zd/a/b\"\n}\n"), "job.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if err := Set(cfg.Config, "user", "nosuchuserzd2"); err != nil {
		t.Fatal(err)
	}
	if err := Override(cfg.Config, "runner/transcript", "/nonexistent-zd/c/d"); err != nil {
		t.Fatal(err)
	}
	if d := CheckHost(cfg); len(d) != 0 {
		t.Errorf("CheckHost checked command-line values: %v", d)
	}
	// -t overrides a transcript block: the block's path is not checked.
	cfg, _, diags = Parse([]byte("runner {\nprogram = \"x\"\n}\ntranscript \"file\" {\n  path = \"/nonexistent-zd/a/b\"\n}\n"), "job.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if err := Set(cfg.Config, "transcript", "/tmp/out.log"); err != nil {
		t.Fatal(err)
	}
	if d := CheckHost(cfg); len(d) != 0 {
		t.Errorf("CheckHost checked a transcript block -t overrides: %v", d)
	}
}
