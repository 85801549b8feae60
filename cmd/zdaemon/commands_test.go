package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// originalListing is the Python original's "help" output, byte for byte.
const originalListing = `
Documented commands (type help <topic>):
========================================
fg          help  logreopen  reopen_transcript  show   status  wait
foreground  kill  logtail    restart            start  stop  

`

// Help needs no job: "-h", "help", "help ACTION" and an action's own -h,
// -help and --help answer without -p or -C, with exit 0 and nothing on
// stderr, and start nothing (the harness fails on processes left behind).
func TestHelpWithoutJob(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"-h"}, "zdctl -- control an application run by zdaemon.\n"},
		{[]string{"help"}, originalListing + "Added by zdaemon (type help <topic>, or <command> -h):\n"},
		{[]string{"help", "validate"}, "Usage: zdaemon validate [options] FILE\n"},
		{[]string{"help", "convert"}, "Usage: zdaemon convert FILE\n"},
		{[]string{"help", "run"}, "Usage: zdaemon [options] run [ARGS...]\n"},
		{[]string{"help", "start"}, "start -- Start the daemon process.\n"},
		{[]string{"start", "-h"}, "Usage: zdaemon [options] start [ARGS...]\n"},
		{[]string{"start", "--help"}, "Usage: zdaemon [options] start [ARGS...]\n"},
		{[]string{"start", "100", "-help"}, "Usage: zdaemon [options] start [ARGS...]\n"},
		{[]string{"stop", "-help"}, "Usage: zdaemon [options] stop\n"},
		{[]string{"status", "-h"}, "Usage: zdaemon [options] status [-l | -json]\n"},
		{[]string{"kill", "--help"}, "Usage: zdaemon [options] kill [SIGNAL]\n"},
		{[]string{"validate", "-h"}, "Usage: zdaemon validate [options] FILE\n"},
		{[]string{"run", "-h"}, "Usage: zdaemon [options] run [ARGS...]\n"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			j := newJob(t)
			r := j.must(0, tt.args...)
			if !strings.HasPrefix(r.out, tt.prefix) || r.err != "" {
				t.Errorf("stdout %q, want the prefix %q; stderr %q", r.out, tt.prefix, r.err)
			}
			if strings.Contains(r.out, "\t") {
				t.Errorf("help contains a tab: %q", r.out)
			}
		})
	}
}

// With a job, an action's help flag prints its help and runs nothing:
// "start -h" starts no manager (it used to start the program with -h).
func TestActionHelpRunsNothing(t *testing.T) {
	j := newJob(t)
	opts := []string{"-p", "sleep 100", "-s", j.path("zd.sock")}
	for _, action := range []string{"start", "restart", "stop", "fg", "wait", "logtail"} {
		r := j.must(0, append(opts, action, "-h")...)
		if !strings.HasPrefix(r.out, "Usage: zdaemon [options] "+action) || r.err != "" {
			t.Errorf("%s -h: stdout %q, stderr %q", action, r.out, r.err)
		}
	}
	if r := j.must(3, append(opts, "status")...); r.out != "daemon manager not running\n" {
		t.Errorf("status after the help requests: %q", r.out)
	}
	// kill -h is the original's: a signal name.
	if r := j.must(1, append(opts, "kill", "-h")...); r.out != "invalid signal '-h'\n" {
		t.Errorf("kill -h: %q", r.out)
	}
}

// A program word that looks like a help flag goes after "--", which is
// dropped; every word after it reaches the program unchanged.
func TestHelpFlagForTheProgram(t *testing.T) {
	j := newJob(t)
	r := j.must(0, "-p", "echo", "fg", "--", "-h", "--help")
	if r.out != "echo -h --help\n-h --help\n" {
		t.Errorf("fg -- -h --help: %q", r.out)
	}
	r = j.must(0, "-p", "echo", "fg", "a", "--", "-h", "--")
	if r.out != "echo a -h --\na -h --\n" {
		t.Errorf("fg a -- -h --: %q", r.out)
	}

	prog := j.write("prog.sh", "#!/bin/sh\necho \"$@\" > "+j.path("args")+"\nexec sleep 100\n")
	if err := os.Chmod(prog, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := []string{"-p", prog, "-s", j.path("zd.sock")}
	pid := j.startWords(opts, "--", "-h", "100")
	defer j.stopOK(opts...)
	var got string
	pollUntil(t, 10*time.Second, 10*time.Millisecond, "the program's arguments", func() bool {
		b, _ := os.ReadFile(j.path("args"))
		got = string(b)
		return strings.HasSuffix(got, "\n")
	})
	if got != "-h 100\n" {
		t.Errorf("program %d got the arguments %q, want \"-h 100\"", pid, got)
	}
	if r := j.must(0, append(opts, "status")...); r.out != "program running; pid="+strconv.Itoa(pid)+"\n" {
		t.Errorf("status: %q", r.out)
	}
}

// The shell runs the same commands with the same texts; a help flag there
// prints the action's help.
func TestShellHelpFlag(t *testing.T) {
	j := newJob(t)
	r := j.runIn([]byte("help\nstatus -h\nkill -h\nvalidate\n"), "-p", "sleep 100", "-s", j.path("zd.sock"))
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	for _, want := range []string{
		originalListing,
		"zdaemon> Usage: zdaemon [options] status [-l | -json]\n",
		"zdaemon> invalid signal '-h'\n",
		"zdaemon> *** Unknown syntax: validate\n", // the original's commands only
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("shell output lacks %q:\n%s", want, r.out)
		}
	}
}
