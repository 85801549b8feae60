// Package command is zdaemon's operator interface: the global options, the
// actions (start, stop, status, ...) and the interactive shell. The manager
// is the executable beside it (cmd/zdrun), which start and run hand the
// job to. Flags and every user-facing text live here; the core packages
// only return values and errors.
package command

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/mitchellh/cli"

	"github.com/zdaemon/zdaemon/cmd/zdaemon/options"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// Version is zdaemon's version, printed by --version.
const Version = "5.2.2+go.1"

// usageError is an option or configuration error: "Error: <msg>" and the
// help hint on stderr, exit status 2 (the original's format).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitError ends a command with a status after its message was printed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs zdaemon with argv (argv[0] is the name it was invoked as) and
// returns the exit status.
func Main(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	m := &Meta{Argv0: argv[0], Stdin: stdin, Out: stdout, Err: stderr}
	code, err := m.main(argv[1:])
	if err != nil {
		var ue *usageError
		var ee *exitError
		switch {
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "Error: %s\nFor help, use %s -h\n", ue.msg, m.Argv0)
			return 2
		case errors.As(err, &ee):
			return ee.code
		default:
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
	}
	return code
}

func (m *Meta) main(args []string) (int, error) {
	opts, err := options.Parse(args)
	if err != nil {
		return 0, &usageError{msg: err.Error()}
	}
	m.Opts = opts
	if opts.Help || opts.Version {
		// The options before -h or --version are handled first, as in the
		// original: a bad value there is reported instead.
		scratch := config.Default()
		for _, s := range opts.Settings {
			if err := scratch.Set(s.Key, s.Value); err != nil {
				return 0, usagef("invalid value for %s %s: %v", s.Opt, pyrepr.Str(s.Value), err)
			}
		}
	}
	if opts.Help {
		fmt.Fprint(m.Out, options.Usage)
		return 0, nil
	}
	if opts.Version {
		fmt.Fprintln(m.Out, Version)
		return 0, nil
	}
	// Commands that need no job: validate and convert read a file.
	if len(opts.Args) > 0 {
		switch opts.Args[0] {
		case "validate", "convert":
			return m.runCLI(opts.Args[0], opts.Args[1:])
		}
	}
	if err := m.setup(); err != nil {
		return 0, err
	}
	if len(m.Cfg.Program) == 0 {
		return 0, usagef("no program specified; use -p or -C")
	}
	interactive := opts.Interactive || (len(opts.Args) == 0 && m.Cfg.DefaultToInteractive)
	if len(opts.Args) == 0 && !interactive {
		return 0, usagef("an action argument is required")
	}
	if err := m.prepare(); err != nil {
		return 0, err
	}
	if len(opts.Args) > 0 && opts.Args[0] == "run" {
		return m.runCLI("run", opts.Args[1:])
	}
	// Actions that start a manager need the transcript sink resolved (and
	// its configuration checked) first.
	if len(opts.Args) > 0 && (opts.Args[0] == "start" || opts.Args[0] == "restart") {
		if err := m.sinkDiags(); err != nil {
			return 0, err
		}
	}
	code := 0
	if len(opts.Args) > 0 {
		code, err = m.onecmd(opts.Args)
		if err != nil || !interactive {
			return code, err
		}
	}
	return m.shell()
}

// action is one parsed action line (the original's cmd.Cmd.onecmd rules).
type action struct {
	name  string   // the command word
	arg   string   // the rest of the line, stripped
	words []string // the words after the action word, unchanged
}

// parseAction interprets the action words like Python's cmd.Cmd.
func parseAction(words []string) action {
	line := strings.TrimSpace(strings.Join(words, " "))
	if strings.HasPrefix(line, "?") {
		line = "help " + line[1:]
	}
	i := 0
	for i < len(line) && isIdentChar(line[i]) {
		i++
	}
	a := action{name: line[:i], arg: strings.TrimSpace(line[i:])}
	if len(words) > 1 {
		a.words = words[1:]
	}
	return a
}

func isIdentChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// actions lists the action words of the command line and the shell.
var actions = []string{"fg", "foreground", "help", "kill", "logreopen", "logtail",
	"reopen_transcript", "restart", "show", "start", "status", "stop", "wait"}

// onecmd runs one action line.
func (m *Meta) onecmd(words []string) (int, error) {
	line := strings.TrimSpace(strings.Join(words, " "))
	if line == "" {
		_, err := m.runCLI("status", nil)
		return 0, err // an empty line shows status, and never fails
	}
	a := parseAction(words)
	known := false
	for _, name := range actions {
		known = known || name == a.name
	}
	if !known {
		fmt.Fprintf(m.Out, "*** Unknown syntax: %s\n", line)
		return 0, nil
	}
	args := []string{a.arg}
	if a.arg == "" {
		args = nil
	}
	switch a.name {
	case "start", "restart", "fg", "foreground":
		args = a.words
	}
	return m.runCLI(a.name, args)
}

// runCLI dispatches a command through mitchellh/cli. Arguments go after
// "--" so that cli never treats them as its own flags ("kill -h" is an
// invalid signal, not a help request).
func (m *Meta) runCLI(name string, args []string) (int, error) {
	c := &cli.CLI{
		Name:           filepath.Base(m.Argv0),
		Args:           append([]string{name, "--"}, args...),
		Commands:       m.commands(),
		HiddenCommands: []string{"run"},
		HelpWriter:     m.Out,
		ErrorWriter:    m.Err,
	}
	code, err := c.Run()
	if err != nil {
		return code, err
	}
	if m.err != nil {
		err, m.err = m.err, nil
		return code, err
	}
	return code, nil
}

// commands is the factory map of every action.
func (m *Meta) commands() map[string]cli.CommandFactory {
	mk := func(c cli.Command) cli.CommandFactory { return func() (cli.Command, error) { return c, nil } }
	fg := &FgCommand{Meta: m}
	return map[string]cli.CommandFactory{
		"start":             mk(&StartCommand{Meta: m}),
		"stop":              mk(&StopCommand{Meta: m}),
		"restart":           mk(&RestartCommand{Meta: m}),
		"status":            mk(&StatusCommand{Meta: m}),
		"kill":              mk(&KillCommand{Meta: m}),
		"wait":              mk(&WaitCommand{Meta: m}),
		"fg":                mk(fg),
		"foreground":        mk(fg),
		"reopen_transcript": mk(&ReopenCommand{Meta: m}),
		"logreopen":         mk(&LogreopenCommand{Meta: m}),
		"logtail":           mk(&LogtailCommand{Meta: m}),
		"show":              mk(&ShowCommand{Meta: m}),
		"help":              mk(&HelpCommand{Meta: m}),
		"validate":          mk(&ValidateCommand{Meta: m}),
		"convert":           mk(&ConvertCommand{Meta: m}),
		"run":               mk(&RunCommand{Meta: m}),
	}
}

// stripDashes removes the "--" runCLI puts before the arguments.
func stripDashes(args []string) []string {
	if len(args) > 0 && args[0] == "--" {
		return args[1:]
	}
	return args
}

// joinArg is the original's "arg": the words after the action, joined.
func joinArg(args []string) string {
	return strings.TrimSpace(strings.Join(stripDashes(args), " "))
}
