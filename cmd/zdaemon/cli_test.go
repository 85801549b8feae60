package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Golden outputs of the command line that need no manager. Each case runs
// the real binary; the golden file holds stdout, and stderr when present,
// with the exit status. Regenerate with: go test ./cmd/zdaemon -run CLI -update
func TestCLIGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"help-flag", []string{"-h"}, 0},
		{"help-long", []string{"--help"}, 0},
		{"help-prefix", []string{"--h"}, 0},
		{"version", []string{"--version"}, 0},
		{"bad-value-before-help", []string{"-b", "x", "-h"}, 2},
		{"bad-value-after-help", []string{"-h", "-b", "x"}, 0},
		{"no-args", []string{}, 2},
		{"unknown-short", []string{"-q", "-p", "x", "status"}, 2},
		{"unknown-long", []string{"--foo"}, 2},
		{"missing-value", []string{"-p"}, 2},
		{"flag-with-value", []string{"--forever=1", "-p", "x", "status"}, 2},
		{"ambiguous-prefix", []string{"--s", "x", "-p", "x", "status"}, 2},
		{"conflict", []string{"-b", "5", "-b", "6", "-p", "x", "status"}, 2},
		{"bad-int", []string{"-b", "x", "-p", "x", "status"}, 2},
		{"bad-umask", []string{"-m", "9", "-p", "x", "status"}, 2},
		{"bad-exit-codes", []string{"-x", "a,b", "-p", "x", "status"}, 2},
		{"bad-directory", []string{"-z", "a/b", "-p", "x", "status"}, 2},
		{"bad-socket", []string{"-s", "a/b/c", "-p", "x", "status"}, 2},
		{"missing-config", []string{"-C", "/nonexistent/job.hcl", "status"}, 2},
		{"overrides-without-config", []string{"-X", "runner/backoff-limit=7", "-p", "x", "show"}, 2},
		{"words-after-action", []string{"-p", "x", "status", "--version"}, 1},
		{"empty-action", []string{"-p", "x", ""}, 0},
		{"unknown-action", []string{"-p", "x", "bogus"}, 0},
		{"quit-unknown", []string{"-p", "x", "quit"}, 0},
		{"help", []string{"-p", "x", "help"}, 0},
		{"help-question", []string{"-p", "x", "?"}, 0},
		{"help-bogus", []string{"-p", "x", "help", "bogus"}, 0},
		{"status-bad-arg", []string{"-p", "x", "status", "foo"}, 1},
		{"status-not-running", []string{"-p", "x", "status"}, 3},
		{"status-l-not-running", []string{"-p", "x", "status", "-l"}, 3},
		{"stop-not-running", []string{"-p", "x", "stop"}, 0},
		{"wait-not-running", []string{"-p", "x", "wait"}, 0},
		{"reopen-not-running", []string{"-p", "x", "reopen_transcript"}, 0},
		{"logreopen-not-running", []string{"-p", "x", "logreopen"}, 1},
		{"kill-invalid", []string{"-p", "x", "kill", "-h"}, 1},
		{"kill-zero", []string{"-p", "x", "kill", "0"}, 1},
		{"show", []string{"-p", "echo hello world", "-s", "zdsock", "show"}, 0},
		{"show-bogus", []string{"-p", "x", "-s", "zdsock", "show", "bogus"}, 0},
		{"not-root-user", []string{"-u", "root", "-p", "x", "status"}, 2},
		{"unknown-user", []string{"-u", "nosuchuserzd", "-p", "x", "status"}, 2},
		{"unknown-uid", []string{"-u", "4242", "-p", "x", "status"}, 2},
		{"interactive-eof", []string{"-p", "x"}, 0},
		{"logtail-no-default", []string{"-p", "x", "logtail"}, 0},
		{"logtail-missing", []string{"-p", "x", "logtail", "nofile"}, 0},
		{"validate-good", []string{"validate", "REPO/testdata/jobs/good.hcl"}, 0},
		{"validate-bad", []string{"validate", "REPO/testdata/jobs/bad.hcl"}, 2},
		{"validate-no-file", []string{"validate"}, 1},
		{"help-reload", []string{"help", "reload"}, 0},
		{"reload-not-running", []string{"-p", "x", "reload"}, 1},
		{"convert-hcl", []string{"convert", "REPO/testdata/jobs/good.hcl"}, 2},
		{"convert-legacy", []string{"convert", "REPO/testdata/jobs/legacy.conf"}, 0},
		{"convert-legacy-errors", []string{"convert", "REPO/testdata/jobs/legacy-bad.conf"}, 2},
		{"show-legacy", []string{"-C", "REPO/testdata/jobs/legacy.conf", "-s", "zdsock", "show"}, 0},
		{"config-errors", []string{"-C", "REPO/testdata/jobs/bad.hcl", "status"}, 2},
		{"override-bad", []string{"-C", "REPO/testdata/jobs/good.hcl", "-X", "runner/forever=maybe", "status"}, 2},
		{"override-show", []string{"-C", "REPO/testdata/jobs/good.hcl", "-X", "runner/backoff-limit=7", "-X", "environment/A=b", "-s", "zdsock", "show"}, 0},
		{"help-upgrade", []string{"-p", "x", "help", "upgrade"}, 0},
		{"upgrade-not-running", []string{"-p", "x", "upgrade"}, 1},
	}
	for _, cmd := range []string{"fg", "foreground", "help", "kill", "logreopen", "logtail",
		"reopen_transcript", "restart", "show", "start", "status", "stop", "wait"} {
		tests = append(tests, struct {
			name string
			args []string
			code int
		}{"help-" + cmd, []string{"-p", "x", "help", cmd}, 0})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.HasPrefix(tt.name, "not-root") && os.Geteuid() == 0 {
				t.Skip("SKIPPED: runs as root, where -u root is allowed")
			}
			runGolden(t, filepath.Join("testdata", "cli", tt.name+".golden"), tt.args, tt.code)
		})
	}
}

// runGolden runs zdaemon with args in a new job (REPO in an argument is
// this package's directory), requires the exit code, and compares stdout
// and stderr, with the binary, job and package paths made neutral, with
// the golden file.
func runGolden(t *testing.T, golden string, args []string, code int) {
	t.Helper()
	j := newJob(t)
	repo, _ := os.Getwd()
	args = slices.Clone(args)
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "REPO", repo)
	}
	r := j.runIn([]byte{}, args...)
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout %q\nstderr %q", r.code, code, r.out, r.err)
	}
	got := r.out
	if r.err != "" {
		got += "--- stderr\n" + r.err
	}
	got = strings.ReplaceAll(got, zdaemonBin, "ZDAEMON")
	got = strings.ReplaceAll(got, j.dir, "JOBDIR")
	got = strings.ReplaceAll(got, repo, "REPO")
	checkGolden(t, golden, got)
}
