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
	"slices"
	"strings"

	"github.com/mitchellh/cli"

	"github.com/zdaemon/zdaemon/cmd/zdaemon/options"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/jobfile"
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
	ui := &cli.BasicUi{Reader: stdin, Writer: stdout, ErrorWriter: stderr}
	m := NewMeta(ui, argv[0], stdin)
	code, err := m.main(argv[1:])
	if err != nil {
		return m.exit(err)
	}
	return code
}

// exit prints err in the original's words and returns its exit status: a
// usage error is "Error: <msg>" and the help hint (2), an exitError was
// printed already, anything else is "Error: <err>" (1).
func (m *Meta) exit(err error) int {
	var ue *usageError
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(m.Err, "Error: %s\nFor help, use %s -h\n", ue.msg, m.Argv0)
		return 2
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintf(m.Err, "Error: %v\n", err)
		return 1
	}
}

func (m *Meta) main(args []string) (int, error) {
	opts, err := options.Parse(args)
	if err != nil {
		return 0, &usageError{msg: err.Error()}
	}
	m.Opts = opts
	// Help needs no job: the option summary (-h), "help [ACTION]" and an
	// action's own -h. The options before it are checked first, as the
	// original does for -h: a bad value there is reported instead.
	if opts.Help || opts.Version || (len(opts.Args) > 0 && m.isHelp(opts.Args)) {
		scratch := config.Default()
		for _, s := range opts.Settings {
			if err := jobfile.Set(scratch, s.Key, s.Value); err != nil {
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
	// Commands that need no job: help, validate, convert and export read files
	// or print texts, run with a hand-off is a manager started by a client.
	if len(opts.Args) > 0 && !m.needsJob(opts.Args) {
		return m.onecmd(opts.Args, commandActions), nil
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
		return m.onecmd(opts.Args, commandActions), nil
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
		code = m.onecmd(opts.Args, commandActions)
		if !interactive {
			return code, nil
		}
	}
	return m.shell(), nil
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

// actions lists the original's action words: those of the shell.
var actions = []string{"fg", "foreground", "help", "kill", "logreopen", "logtail",
	"reopen_transcript", "restart", "show", "start", "status", "stop", "wait"}

// commandActions are the action words of the command line: the original's
// and ours.
var commandActions = append(slices.Clip(actions), "validate", "convert", "run", "reload", "export", "history", "metrics", "upgrade")

// cliArgs turns an action line into mitchellh/cli's arguments: the
// command word, then its words. The words after start, restart, fg and
// run are the program's and go on unchanged; the others are the
// original's "arg" split back into words (one word when the line glued
// it to the command, as "?stop"). mitchellh/cli takes -h, -help and
// --help anywhere before "--" for a help request; kill's words are signal
// names, and "kill -h" stays the original's invalid signal, so a kill
// with -h among its words goes behind "--".
func cliArgs(a action, words []string) []string {
	var rest []string
	switch {
	case a.name == "start" || a.name == "restart" || a.name == "fg" || a.name == "foreground" || a.name == "run":
		rest = a.words
	case len(words) > 0 && words[0] == a.name:
		rest = a.words
	case a.arg != "":
		rest = []string{a.arg}
	}
	if a.name == "kill" && slices.Contains(beforeDashes(rest), "-h") {
		rest = append([]string{"--"}, rest...)
	}
	return append([]string{a.name}, rest...)
}

// beforeDashes is the part of args mitchellh/cli looks at for flags.
func beforeDashes(args []string) []string {
	if i := slices.Index(args, "--"); i >= 0 {
		return args[:i]
	}
	return args
}

// isHelp says that mitchellh/cli will answer the action line with a
// command's help, as it does for -h, -help and --help before "--".
func (m *Meta) isHelp(words []string) bool {
	a := parseAction(words)
	if !slices.Contains(commandActions, a.name) {
		return false
	}
	if a.name == "help" {
		return true
	}
	return slices.ContainsFunc(beforeDashes(cliArgs(a, words)[1:]), isHelpFlag)
}

func isHelpFlag(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

// needsJob says whether the action line acts on a job (-p or -C): help,
// validate and convert do not. With -i, help is followed by the shell,
// which needs the job.
func (m *Meta) needsJob(words []string) bool {
	switch parseAction(words).name {
	case "validate", "convert", "export":
		return false
	}
	return m.Opts.Interactive || !m.isHelp(words)
}

// onecmd runs one action line, whose word must be one of known, and
// returns its exit status.
func (m *Meta) onecmd(words, known []string) int {
	line := strings.TrimSpace(strings.Join(words, " "))
	if line == "" {
		m.status(false) // an empty line shows status, and never fails
		return 0
	}
	a := parseAction(words)
	if !slices.Contains(known, a.name) {
		fmt.Fprintf(m.Out, "*** Unknown syntax: %s\n", line)
		return 0
	}
	return m.runCLI(cliArgs(a, words))
}

// runCLI runs one command through mitchellh/cli, which parses its help
// flags and hands the rest to the command's Run.
func (m *Meta) runCLI(args []string) int {
	c := &cli.CLI{
		Name:        filepath.Base(m.Argv0),
		Args:        args,
		Commands:    m.commands(),
		HelpWriter:  m.Out,
		ErrorWriter: m.Err,
	}
	code, err := c.Run()
	if err != nil { // only a factory's error, and ours never fail
		return m.exit(err)
	}
	return code
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
		"export":            mk(&ExportCommand{Meta: m}),
		"history":           mk(&HistoryCommand{Meta: m}),
		"metrics":           mk(&MetricsCommand{Meta: m}),
		"reload":            mk(&ReloadCommand{Meta: m}),
		"upgrade":           mk(&UpgradeCommand{Meta: m}),
	}
}

// words drops the "--" that ends mitchellh/cli's flags: the first one,
// wherever it is; the words are the command's (or the program's) from
// there on, unchanged.
func words(args []string) []string {
	if i := slices.Index(args, "--"); i >= 0 {
		return append(append([]string(nil), args[:i]...), args[i+1:]...)
	}
	return args
}

// joinArg is the original's "arg": the words after the action, joined.
func joinArg(args []string) string {
	return strings.TrimSpace(strings.Join(words(args), " "))
}
