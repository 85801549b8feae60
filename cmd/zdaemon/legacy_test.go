package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The seed README's -C examples, with the ZConfig files exactly as the
// README writes them.
func TestReadmeLegacyConfigs(t *testing.T) {
	j := newJob(t)
	j.write("conf", "<runner>\n  program sleep 100\n</runner>\n")
	j.startOK("-Cconf")
	if _, err := os.Stat(j.path("zdsock")); err != nil {
		t.Fatalf("zdsock not created: %v", err)
	}
	j.stopOK("-Cconf")

	sock := j.path("demo.zdsock")
	j.write("conf", "<runner>\n  program sleep 100\n  socket-name "+sock+"\n</runner>\n")
	j.startOK("-Cconf")
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("socket not at %s: %v", sock, err)
	}
	j.stopOK("-Cconf")

	j.write("conf", "<runner>\n  program sleep\n  socket-name "+sock+"\n</runner>\n")
	pid := j.startWords([]string{"-Cconf"}, "100")
	r := j.must(0, "-Cconf", "status")
	if !strings.HasSuffix(r.out, "program running; pid="+strconv.Itoa(pid)+"\n") {
		t.Fatalf("status: %q", r.out)
	}
	j.stopOK("-Cconf")

	j.write("conf", "<runner>\n  program env\n  socket-name "+sock+"\n</runner>\n\n<environment>\n  LD_LIBRARY_PATH /home/foo/lib\n  HOME /home/foo\n</environment>\n")
	r = j.must(0, "-Cconf", "fg")
	if !strings.HasPrefix(r.out, "env\n") || !strings.Contains(r.out, "\nLD_LIBRARY_PATH=/home/foo/lib\n") || !strings.Contains(r.out, "\nHOME=/home/foo\n") {
		t.Fatalf("fg env: %q", r.out)
	}

	// The transcript example reads (the transcript itself is captured once
	// the transcript plugins land).
	j.write("conf", "<runner>\n  program tail -f data\n  transcript log\n</runner>\n")
	r = j.must(0, "-Cconf", "show")
	if !strings.Contains(r.out, "\ntranscript:   'log'\n") || !strings.Contains(r.out, "\nprogram:      ['tail', '-f', 'data']\n") {
		t.Fatalf("show: %q", r.out)
	}
}

// -X overrides apply to a legacy file and reach the manager.
func TestLegacyOverrides(t *testing.T) {
	j := newJob(t)
	j.write("conf", "<runner>\n  program sleep 100\n  backoff-limit 10\n</runner>\n")
	r := j.must(0, "-Cconf", "-X", "runner/backoff-limit=7", "show")
	if !strings.Contains(r.out, "\nbackofflimit: 7\n") {
		t.Fatalf("show: %q", r.out)
	}
	j.startOK("-Cconf", "-X", "runner/backoff-limit=7")
	if kv := j.statusMap("-Cconf"); kv["backofflimit"] != "7" {
		t.Fatalf("the manager did not get the override: %v", kv)
	}
	j.stopOK("-Cconf")
	r = j.must(2, "-Cconf", "-X", "runner/bogus=1", "show")
	if !strings.Contains(r.err, "'bogus' is not a known key name") {
		t.Fatalf("bad override: %q", r.err)
	}
}

// Legacy errors point into the .conf file, with exit status 2.
func TestLegacyErrors(t *testing.T) {
	j := newJob(t)
	j.write("conf", "<runner>\n  program sleep 100\n  forever maybe\n</runner>\n")
	r := j.must(2, "-Cconf", "status")
	want := "Error: not a valid boolean value: 'maybe'\n\n  on conf:3:11:\n   3:   forever maybe\n                ^^^^^\n"
	if !strings.HasPrefix(r.err, want) {
		t.Fatalf("stderr %q, want prefix %q", r.err, want)
	}
	r = j.must(2, "convert", j.path("conf"))
	if !strings.Contains(r.err, "not a valid boolean value") {
		t.Fatalf("convert: %q", r.err)
	}
}

// convert's output validates, and runs with the same effective settings as
// the original file (show output), for every corpus file with a runner
// whose paths exist here.
func TestConvertCorpus(t *testing.T) {
	const corpus = "../../../shared/corpus/zconfig"
	files, _ := filepath.Glob(filepath.Join(corpus, "*"))
	if len(files) == 0 {
		t.Skip("SKIPPED: the shared corpus is not here")
	}
	j := newJob(t)
	converted := 0
	for _, f := range files {
		src, _ := os.ReadFile(f)
		if !regexp.MustCompile(`(?mi)^\s*<runner\b`).Match(src) || strings.HasSuffix(f, ".tsv") || strings.HasSuffix(f, ".md") {
			continue
		}
		abs, _ := filepath.Abs(f)
		r := j.run("convert", abs)
		if r.code == 2 {
			// Files that do not parse (templates, missing variables) or
			// need start tests: TestCorpus checks their errors. The runner
			// must still fail with the same status.
			if o := j.run("-C", abs, "show"); o.code != 2 {
				t.Errorf("%s: convert fails, -C show exits %d", filepath.Base(f), o.code)
			}
			continue
		}
		if r.code != 0 {
			t.Fatalf("convert %s: %d %q", f, r.code, r.err)
		}
		converted++
		hcl := j.write(filepath.Base(f)+".hcl", r.out)
		// Written for other machines: their paths and users need not
		// exist here (TestTrustPathsHostChecksGolden checks those).
		if v := j.run("validate", "-no-host-checks", hcl); v.code != 0 {
			t.Errorf("converted %s does not validate: %s", filepath.Base(f), v.err)
		}
		orig := j.run("-C", abs, "-s", "zdsock", "-z", j.dir, "show")
		conv := j.run("-C", hcl, "-s", "zdsock", "-z", j.dir, "show")
		strip := func(s string) string {
			return regexp.MustCompile(`(?m)^configfile: .*\n`).ReplaceAllString(s, "")
		}
		errs := strip
		if orig.code == 2 && conv.code == 2 {
			// Values wrong for this machine (host checks): the same
			// errors, each pointing into its own file.
			errs = func(s string) string {
				return strings.Join(regexp.MustCompile(`(?m)^Error: .*$`).FindAllString(s, -1), "\n")
			}
		}
		if orig.code != conv.code || strip(orig.out) != strip(conv.out) || errs(orig.err) != errs(conv.err) {
			t.Errorf("%s: show differs\noriginal (%d): %s%s\nconverted (%d): %s%s", filepath.Base(f), orig.code, orig.out, orig.err, conv.code, conv.out, conv.err)
		}
	}
	if converted < 15 {
		t.Fatalf("only %d corpus files converted", converted)
	}
}
