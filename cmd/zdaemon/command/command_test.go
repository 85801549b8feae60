package command

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mitchellh/cli"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/controlproto"
)

func TestStartCommand_Implements(t *testing.T)     { var _ cli.Command = &StartCommand{} }
func TestStopCommand_Implements(t *testing.T)      { var _ cli.Command = &StopCommand{} }
func TestRestartCommand_Implements(t *testing.T)   { var _ cli.Command = &RestartCommand{} }
func TestStatusCommand_Implements(t *testing.T)    { var _ cli.Command = &StatusCommand{} }
func TestKillCommand_Implements(t *testing.T)      { var _ cli.Command = &KillCommand{} }
func TestWaitCommand_Implements(t *testing.T)      { var _ cli.Command = &WaitCommand{} }
func TestFgCommand_Implements(t *testing.T)        { var _ cli.Command = &FgCommand{} }
func TestReopenCommand_Implements(t *testing.T)    { var _ cli.Command = &ReopenCommand{} }
func TestLogreopenCommand_Implements(t *testing.T) { var _ cli.Command = &LogreopenCommand{} }
func TestLogtailCommand_Implements(t *testing.T)   { var _ cli.Command = &LogtailCommand{} }
func TestShowCommand_Implements(t *testing.T)      { var _ cli.Command = &ShowCommand{} }
func TestHelpCommand_Implements(t *testing.T)      { var _ cli.Command = &HelpCommand{} }
func TestValidateCommand_Implements(t *testing.T)  { var _ cli.Command = &ValidateCommand{} }
func TestConvertCommand_Implements(t *testing.T)   { var _ cli.Command = &ConvertCommand{} }
func TestRunCommand_Implements(t *testing.T)       { var _ cli.Command = &RunCommand{} }
func TestExportCommand_Implements(t *testing.T)    { var _ cli.Command = &ExportCommand{} }
func TestHistoryCommand_Implements(t *testing.T)   { var _ cli.Command = &HistoryCommand{} }
func TestMetricsCommand_Implements(t *testing.T)   { var _ cli.Command = &MetricsCommand{} }
func TestReloadCommand_Implements(t *testing.T)    { var _ cli.Command = &ReloadCommand{} }
func TestUpgradeCommand_Implements(t *testing.T)   { var _ cli.Command = &UpgradeCommand{} }
func TestCommandsAreAllListed_Implements(t *testing.T) {
	if n := len(newTestMeta().commands()); n != 21 {
		t.Errorf("%d commands, want 21: add the new one's _Implements check", n)
	}
}

// newTestMeta is a Meta printing to a mock UI, with no manager to talk to.
func newTestMeta() *Meta {
	m := NewMeta(cli.NewMockUi(), "zdaemon", strings.NewReader(""))
	m.Send = func(context.Context, string, string) (string, error) {
		return "", fmt.Errorf("test: %w", controlproto.ErrNoManager)
	}
	return m
}

func outputs(m *Meta) (stdout, stderr string) {
	ui := m.Ui.(*cli.MockUi)
	return ui.OutputWriter.String(), ui.ErrorWriter.String()
}

// Every command honours the mitchellh/cli contract and the house rules:
// a short synopsis without a trailing period, help that starts with a
// usage line, lists the exit statuses, has no tabs and nothing
// mitchellh/cli's help template would take for an action.
func TestCommandsHelp(t *testing.T) {
	for name, factory := range newTestMeta().commands() {
		c, err := factory()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		syn := c.Synopsis()
		if syn == "" || len(syn) >= 50 || strings.HasSuffix(syn, ".") {
			t.Errorf("%s: synopsis %q", name, syn)
		}
		help := c.Help()
		if !strings.HasPrefix(help, "Usage: zdaemon ") {
			t.Errorf("%s: help does not start with a usage line: %q", name, help)
		}
		if strings.Contains(help, "\t") {
			t.Errorf("%s: help contains a tab", name)
		}
		if strings.Contains(help, "{{") {
			t.Errorf("%s: help contains a template action", name)
		}
		if help != strings.TrimSpace(help) {
			t.Errorf("%s: help has surrounding space", name)
		}
		if !strings.Contains(help, "\nExit status:\n  ") {
			t.Errorf("%s: help lists no exit status", name)
		}
	}
}

// Every help flag that mitchellh/cli honours prints the command's help on
// stdout with exit 0, and runs nothing (there is no job here: anything
// that ran would fail on the nil configuration).
func TestHelpFlags(t *testing.T) {
	for name := range newTestMeta().commands() {
		for _, flag := range []string{"-h", "-help", "--help"} {
			if name == "kill" && flag == "-h" {
				continue // a signal name, below
			}
			for _, args := range [][]string{{name, flag}, {name, "x", flag}} {
				m := newTestMeta()
				code := m.onecmd(args, commandActions)
				out, errs := outputs(m)
				c, _ := m.commands()[name]()
				if code != 0 || out != c.Help()+"\n" || errs != "" {
					t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errs)
				}
			}
		}
	}
}

// How an action line reaches mitchellh/cli, and which lines it answers
// with help.
func TestCLIArgs(t *testing.T) {
	for _, tt := range []struct {
		words []string
		want  []string
		help  bool
	}{
		{[]string{"start", "-h"}, []string{"start", "-h"}, true},
		{[]string{"start", "100", "--help"}, []string{"start", "100", "--help"}, true},
		{[]string{"start", "--", "-h"}, []string{"start", "--", "-h"}, false},
		{[]string{"start", " 100 "}, []string{"start", " 100 "}, false},
		{[]string{"stop", "-help"}, []string{"stop", "-help"}, true},
		{[]string{"kill", "-h"}, []string{"kill", "--", "-h"}, false},
		{[]string{"kill", "-9"}, []string{"kill", "-9"}, false},
		{[]string{"kill", "--help"}, []string{"kill", "--help"}, true},
		{[]string{"status", "-l"}, []string{"status", "-l"}, false},
		{[]string{"status", "--version"}, []string{"status", "--version"}, false},
		{[]string{"help"}, []string{"help"}, true},
		{[]string{"help", "validate"}, []string{"help", "validate"}, true},
		{[]string{"?stop"}, []string{"help", "stop"}, true},
		{[]string{"validate", "-h"}, []string{"validate", "-h"}, true},
		{[]string{"bogus", "-h"}, []string{"bogus", "-h"}, false},
	} {
		a := parseAction(tt.words)
		got := cliArgs(a, tt.words)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("cliArgs(%q) = %q, want %q", tt.words, got, tt.want)
		}
		if h := newTestMeta().isHelp(tt.words); h != tt.help {
			t.Errorf("isHelp(%q) = %v, want %v", tt.words, h, tt.help)
		}
	}
}

func TestWords(t *testing.T) {
	for _, tt := range []struct{ in, want []string }{
		{nil, nil},
		{[]string{"a", "b"}, []string{"a", "b"}},
		{[]string{"--", "-h"}, []string{"-h"}},
		{[]string{"a", "--", "-h", "--"}, []string{"a", "-h", "--"}},
	} {
		if got := words(tt.in); strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseAction(t *testing.T) {
	for _, tt := range []struct {
		words []string
		want  action
	}{
		{[]string{"status", "-l"}, action{name: "status", arg: "-l", words: []string{"-l"}}},
		{[]string{"?"}, action{name: "help"}},
		{[]string{"?stop"}, action{name: "help", arg: "stop"}},
		{[]string{"kill", "SIGTERM", "extra"}, action{name: "kill", arg: "SIGTERM extra", words: []string{"SIGTERM", "extra"}}},
		{[]string{"start", " 100 "}, action{name: "start", arg: "100", words: []string{" 100 "}}},
		{[]string{"!ls"}, action{name: "", arg: "!ls"}},
	} {
		got := parseAction(tt.words)
		if got.name != tt.want.name || got.arg != tt.want.arg || strings.Join(got.words, "|") != strings.Join(tt.want.words, "|") {
			t.Errorf("parseAction(%q) = %+v, want %+v", tt.words, got, tt.want)
		}
	}
}

// Misuse: wrong arguments end with 1 and the help (or, for status, the
// original's answer).
func TestMisuse(t *testing.T) {
	validate, convert := &ValidateCommand{}, &ConvertCommand{}
	for _, tt := range []struct {
		args       []string
		out, errs  string
		errsPrefix bool
	}{
		{args: []string{"validate"}, errs: validate.Help() + "\n"},
		{args: []string{"validate", "a", "b"}, errs: validate.Help() + "\n"},
		{args: []string{"validate", "-x", "a"}, errs: "flag provided but not defined: -x\n" + validate.Help() + "\n"},
		{args: []string{"convert"}, errs: convert.Help() + "\n"},
		{args: []string{"convert", "-x", "a"}, errs: "flag provided but not defined: -x\n" + convert.Help() + "\n"},
		{args: []string{"export"}, errs: (&ExportCommand{}).Help() + "\n"},
		{args: []string{"export", "systemd", "-x"}, errs: "flag provided but not defined: -x\n" + (&ExportCommand{}).Help() + "\n"},
		{args: []string{"status", "foo"}, out: "status argument must be absent or -l\n"},
		{args: []string{"status", "-l", "-l"}, out: "status argument must be absent or -l\n"},
	} {
		m := newTestMeta()
		code := m.onecmd(tt.args, commandActions)
		out, errs := outputs(m)
		if code != 1 || out != tt.out || errs != tt.errs {
			t.Errorf("%q: exit %d\nstdout %q, want %q\nstderr %q, want %q", tt.args, code, out, tt.out, errs, tt.errs)
		}
	}
}

// ParseArgs called directly with -h (mitchellh/cli answers it before)
// prints the help on stdout and ends with 0.
func TestParseArgsHelp(t *testing.T) {
	m := newTestMeta()
	c := &ValidateCommand{m}
	a, code := c.ParseArgs([]string{"-h"})
	out, errs := outputs(m)
	if a != nil || code != 0 || out != c.Help()+"\n" || errs != "" {
		t.Errorf("args %v, exit %d, stdout %q, stderr %q", a, code, out, errs)
	}
	m = newTestMeta()
	a2, code := (&ValidateCommand{m}).ParseArgs([]string{"-no-host-checks", "job.hcl"})
	if code != 0 || a2 == nil || *a2 != (ValidateArgs{File: "job.hcl", NoHostChecks: true}) {
		t.Errorf("args %+v, exit %d", a2, code)
	}
}

// RunContext with struct literals: the code and what is printed, against
// a fake control client.
func TestRunContext(t *testing.T) {
	noManager := func(context.Context, string, string) (string, error) {
		return "", fmt.Errorf("test: %w", controlproto.ErrNoManager)
	}
	reply := func(r string) func(context.Context, string, string) (string, error) {
		return func(context.Context, string, string) (string, error) { return r, nil }
	}
	running := reply("status=running\nmanager=41\napplication=42\nshould_be_up=1\n")
	idle := reply("status=stopped\nmanager=41\napplication=0\nshould_be_up=0\n")
	validate := &ValidateCommand{}
	for _, tt := range []struct {
		name      string
		send      func(context.Context, string, string) (string, error)
		run       func(m *Meta) int
		code      int
		out, errs string
	}{
		{"status down", noManager, func(m *Meta) int {
			return (&StatusCommand{m}).RunContext(context.Background(), &StatusArgs{})
		}, 3, "daemon manager not running\n", ""},
		{"status running", running, func(m *Meta) int {
			return (&StatusCommand{m}).RunContext(context.Background(), &StatusArgs{})
		}, 0, "program running; pid=42\n", ""},
		{"status -l idle", idle, func(m *Meta) int {
			return (&StatusCommand{m}).RunContext(context.Background(), &StatusArgs{Long: true})
		}, 0, "daemon manager running; daemon process not running\nstatus=stopped\nmanager=41\napplication=0\nshould_be_up=0\n\n", ""},
		{"status garbage", reply("what?"), func(m *Meta) int {
			return (&StatusCommand{m}).RunContext(context.Background(), &StatusArgs{})
		}, 1, "", "Error: the daemon manager answered: what?\n"},
		{"stop down", noManager, func(m *Meta) int {
			return (&StopCommand{m}).RunContext(context.Background(), &StopArgs{})
		}, 0, "daemon manager not running\n", ""},
		{"stop idle", idle, func(m *Meta) int {
			return (&StopCommand{m}).RunContext(context.Background(), &StopArgs{})
		}, 0, "daemon process not running\n", ""},
		{"start running", running, func(m *Meta) int {
			return (&StartCommand{m}).RunContext(context.Background(), &StartArgs{Extra: []string{"100"}})
		}, 0, "daemon process already running; pid=42\n", ""},
		{"kill invalid", noManager, func(m *Meta) int {
			return (&KillCommand{m}).RunContext(context.Background(), &KillArgs{Signal: "-h"})
		}, 1, "invalid signal '-h'\n", ""},
		{"kill down", noManager, func(m *Meta) int {
			return (&KillCommand{m}).RunContext(context.Background(), &KillArgs{Signal: "-9"})
		}, 1, "daemon process not running\n", ""},
		{"reopen down", noManager, func(m *Meta) int {
			return (&ReopenCommand{m}).RunContext(context.Background(), &NoArgs{})
		}, 0, "daemon manager not running\n", ""},
		{"show bogus", noManager, func(m *Meta) int {
			return (&ShowCommand{m}).RunContext(context.Background(), &ShowArgs{Topic: "bogus"})
		}, 0, "'ZDCmd' object has no attribute 'show_bogus'\n" + topicHelp["show"], ""},
		{"logtail no default", noManager, func(m *Meta) int {
			return (&LogtailCommand{m}).RunContext(context.Background(), &LogtailArgs{})
		}, 0, "No default log file specified; use logtail <logfile>\n", ""},
		{"help listing", noManager, func(m *Meta) int {
			return (&HelpCommand{m}).RunContext(context.Background(), &HelpArgs{})
		}, 0, helpListing + addedListing, ""},
		{"help stop", noManager, func(m *Meta) int {
			return (&HelpCommand{m}).RunContext(context.Background(), &HelpArgs{Topic: "stop"})
		}, 0, topicHelp["stop"], ""},
		{"help validate", noManager, func(m *Meta) int {
			return (&HelpCommand{m}).RunContext(context.Background(), &HelpArgs{Topic: "validate"})
		}, 0, validate.Help() + "\n", ""},
		{"help plugin", noManager, func(m *Meta) int {
			return (&HelpCommand{m}).RunContext(context.Background(), &HelpArgs{Topic: "plugin"})
		}, 0, "*** No help on plugin\n", ""},
		{"validate missing", noManager, func(m *Meta) int {
			return (&ValidateCommand{m}).RunContext(context.Background(), &ValidateArgs{File: "testdata/none.hcl"})
		}, 2, "", "\x00"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMeta()
			m.Send = tt.send
			m.Cfg = config.Default()
			m.Socket = "/nonexistent/zd.sock"
			code := tt.run(m)
			out, errs := outputs(m)
			if tt.errs == "\x00" { // some error text: not checked here
				if errs == "" {
					t.Errorf("no error printed")
				}
				errs = "\x00"
			}
			if code != tt.code || out != tt.out || errs != tt.errs {
				t.Errorf("exit %d, want %d\nstdout %q\nwant   %q\nstderr %q\nwant   %q", code, tt.code, out, tt.out, errs, tt.errs)
			}
		})
	}
}

// The help listing starts with the original's, byte for byte, and names
// every added command that has a help topic.
func TestHelpListing(t *testing.T) {
	lines := strings.Split(addedListing, "\n")
	if len(lines[0]) != len(lines[1]) || strings.Trim(lines[1], "=") != "" {
		t.Errorf("the ruler does not match the header: %q", lines[:2])
	}
	if got := strings.Fields(lines[2]); strings.Join(got, " ") != strings.Join(addedTopics, " ") {
		t.Errorf("listed %q, topics %q", got, addedTopics)
	}
	for _, name := range addedTopics {
		if _, ok := newTestMeta().commands()[name]; !ok {
			t.Errorf("topic %s is no command", name)
		}
	}
}

// Errors leave through the exit status and the error stream, in the
// original's words.
func TestExit(t *testing.T) {
	for _, tt := range []struct {
		err  error
		code int
		errs string
	}{
		{nil, 0, ""},
		{usagef("no program specified; use -p or -C"), 2, "Error: no program specified; use -p or -C\nFor help, use zdaemon -h\n"},
		{&exitError{code: 2}, 2, ""},
		{fmt.Errorf("cannot create directory /x: %w", errors.New("permission denied")), 1, "Error: cannot create directory /x: permission denied\n"},
	} {
		m := newTestMeta()
		code := m.exit(tt.err)
		_, errs := outputs(m)
		if code != tt.code || errs != tt.errs {
			t.Errorf("exit(%v) = %d, stderr %q; want %d, %q", tt.err, code, errs, tt.code, tt.errs)
		}
	}
}

// stop asks for the status once: the probe before every action (the
// original's "different program" warning) is the one stop decides on.
func TestStopAsksOnce(t *testing.T) {
	m := newTestMeta()
	var lines []string
	m.Send = func(_ context.Context, _, line string) (string, error) {
		lines = append(lines, line)
		switch line {
		case "status":
			return "status=running\nmanager=41\napplication=42\nshould_be_up=1\nargs=['sleep', '100']\n", nil
		case "stop":
			return "Sent SIGTERM", nil
		case "await down":
			return "status=stopped\nmanager=41\napplication=0\nshould_be_up=0\n", nil
		}
		return controlproto.ReplyUnknown(line), nil
	}
	m.Cfg = config.Default()
	m.Cfg.Program = []string{"sleep", "100"}
	m.Socket = filepath.Join(t.TempDir(), "zd.sock")
	if err := m.prepare(); err != nil {
		t.Fatal(err)
	}
	if code := (&StopCommand{m}).RunContext(context.Background(), &StopArgs{}); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	if want := []string{"status", "stop", "await down"}; !slices.Equal(lines, want) {
		t.Fatalf("stop sent %q, want %q", lines, want)
	}
	if out, _ := outputs(m); out != "\ndaemon process stopped\n" {
		t.Fatalf("stop printed %q", out)
	}
	// Taken once: another stop in the same invocation asks afresh.
	lines = nil
	(&StopCommand{m}).RunContext(context.Background(), &StopArgs{})
	if len(lines) < 2 || lines[0] != "status" || lines[1] != "stop" {
		t.Fatalf("a later stop sent %q, want a status of its own first", lines)
	}
}
