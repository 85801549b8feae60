package command

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mitchellh/cli"
)

// Every command honours the mitchellh/cli contract and the house rules:
// a short synopsis without a trailing period, help that starts with a
// usage line and contains no tabs.
func TestCommandsContract(t *testing.T) {
	m := &Meta{Argv0: "zdaemon", Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}
	for name, factory := range m.commands() {
		c, err := factory()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var _ cli.Command = c
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
		if help != strings.TrimSpace(help) {
			t.Errorf("%s: help has surrounding space", name)
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

// Misuse: validate and convert without a file print their help, exit 1.
func TestMisuse(t *testing.T) {
	for _, name := range []string{"validate", "convert"} {
		var out, errb bytes.Buffer
		m := &Meta{Argv0: "zdaemon", Out: &out, Err: &errb}
		code, err := m.runCLI(name, nil)
		if err != nil || code != 1 || !strings.HasPrefix(errb.String(), "Usage: zdaemon "+name) {
			t.Errorf("%s: code %d, err %v, stderr %q", name, code, err, errb.String())
		}
	}
}
