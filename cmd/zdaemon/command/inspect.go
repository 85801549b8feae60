package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/control"
	"github.com/zdaemon/zdaemon/core/pyrepr"
	"github.com/zdaemon/zdaemon/core/signame"
)

// StatusCommand is "status [-l]".
type StatusCommand struct{ *Meta }

// StatusArgs are status's: -l adds the raw status reply.
type StatusArgs struct{ Long bool }

func (c *StatusCommand) Synopsis() string { return "Print status for the daemon process" }
func (c *StatusCommand) Help() string {
	return helpText("status [-l]", "status", "", "0  the manager is running (whether or not the program is)\n1  bad argument\n3  the manager is not running\n4  the manager does not answer (it holds the socket, no reply within 5s)")
}

func (c *StatusCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

// ParseArgs accepts nothing or -l; anything else gets the original's
// answer (on stdout, exit 1).
func (c *StatusCommand) ParseArgs(args []string) (*StatusArgs, int) {
	arg := joinArg(args)
	if arg != "" && arg != "-l" {
		fmt.Fprintln(c.Out, "status argument must be absent or -l")
		return nil, 1
	}
	return &StatusArgs{Long: arg == "-l"}, 0
}

func (c *StatusCommand) RunContext(_ context.Context, a *StatusArgs) int {
	return c.status(a.Long)
}

// status prints the status lines and returns the status exit code.
func (m *Meta) status(long bool) int {
	reply, ok := m.probeRaw()
	if !ok {
		if m.stalled != nil {
			fmt.Fprintln(m.Out, m.notResponding())
			return exitNotResponding
		}
		fmt.Fprintln(m.Out, "daemon manager not running")
		return 3
	}
	st, parsed := control.ParseStatus(reply)
	if !parsed {
		fmt.Fprintf(m.Err, "Error: the daemon manager answered: %s\n", strings.TrimSpace(reply))
		return 1
	}
	if st.Application == 0 {
		fmt.Fprintln(m.Out, "daemon manager running; daemon process not running")
	} else {
		fmt.Fprintf(m.Out, "program running; pid=%d\n", st.Application)
	}
	if long {
		fmt.Fprintln(m.Out, reply)
	}
	return 0
}

// KillCommand is "kill [SIGNAL]": the client signals the program itself,
// as the original does.
type KillCommand struct{ *Meta }

// KillArgs are kill's: the signal, a name (HUP, SIGHUP, sighup) or a
// number (1, -9).
type KillArgs struct{ Signal string }

func (c *KillCommand) Synopsis() string { return "Send a signal to the daemon process" }
func (c *KillCommand) Help() string {
	return helpText("kill [SIGNAL]", "kill", `SIGNAL is a name (HUP, SIGHUP, sighup) or a number (1, -9). As in the
original, "kill -h" is a signal name (an invalid one); -help and --help
print this help.`,
		"1  invalid signal, no program running, or the signal could not be sent")
}

func (c *KillCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

// ParseArgs takes the signal: the words joined, SIGTERM when none.
func (c *KillCommand) ParseArgs(args []string) (*KillArgs, int) {
	arg := joinArg(args)
	if arg == "" {
		arg = "SIGTERM"
	}
	return &KillArgs{Signal: arg}, 0
}

func (c *KillCommand) RunContext(_ context.Context, a *KillArgs) int {
	return c.kill(a.Signal)
}

func (m *Meta) kill(arg string) int {
	sig, err := signame.Parse(arg)
	if err != nil {
		fmt.Fprintln(m.Out, err)
		return 1
	}
	st, ok := m.probe()
	if !ok && m.stalled != nil {
		fmt.Fprintln(m.Out, m.notResponding())
		return 1
	}
	if !ok || st.Application == 0 {
		fmt.Fprintln(m.Out, "daemon process not running")
		return 1
	}
	fmt.Fprintf(m.Out, "kill(%d, %d)\n", st.Application, int(sig))
	if err := syscall.Kill(st.Application, sig); err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			fmt.Fprintf(m.Out, "Error: %s\n", pyrepr.Errno(errno))
		} else {
			fmt.Fprintf(m.Out, "Error: %v\n", err)
		}
		return 1
	}
	fmt.Fprintf(m.Out, "signal %s sent to process %d\n", signame.ClientName(sig), st.Application)
	return 0
}

// FgCommand is "fg"/"foreground": run the program attached to the terminal.
type FgCommand struct{ *Meta }

func (c *FgCommand) Synopsis() string { return "Run the program in the foreground" }
func (c *FgCommand) Help() string {
	return helpText("fg [ARGS...]", "fg", programWords("fg"), "0  the program ran (whatever its exit status)\n1  it could not be started")
}

func (c *FgCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

// ParseArgs takes the program's words, as start's.
func (c *FgCommand) ParseArgs(args []string) (*StartArgs, int) {
	return &StartArgs{Extra: words(args)}, 0
}

func (c *FgCommand) RunContext(_ context.Context, a *StartArgs) int {
	if st, ok := c.probe(); ok && st.Application != 0 {
		fmt.Fprintln(c.Out, "To run the program in the foreground, please stop it first.")
		return 0
	} else if !ok && c.stalled != nil {
		fmt.Fprintln(c.Out, c.notResponding())
		return 1
	}
	argv := append(append([]string(nil), c.Cfg.Program...), a.Extra...)
	fmt.Fprintln(c.Out, strings.Join(argv, " "))
	file, err := c.resolveProgram()
	if err != nil {
		fmt.Fprintf(c.Err, "Error: %s\n", child.Message(err))
		return 1
	}
	cmd := exec.Command(file, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Out, c.Err
	cmd.Env = c.childEnv()
	if c.Cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.Cred}
	}
	// Ctrl-C goes to the program (it shares our process group); we only
	// wait for it to finish.
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt)
	defer signal.Stop(sigc)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(c.Err, "Error: can't exec %s: %v\n", pyrepr.Str(file), err)
		return 1
	}
	_ = cmd.Wait()
	select {
	case <-sigc:
		fmt.Fprintln(c.Out)
	default:
	}
	return 0
}

// ReopenCommand is "reopen_transcript".
type ReopenCommand struct{ *Meta }

// NoArgs are the arguments of a command that takes none (words after it
// are ignored, as the original ignores them).
type NoArgs struct{}

func (c *ReopenCommand) Synopsis() string { return "Reopen the transcript log file" }
func (c *ReopenCommand) Help() string {
	return helpText("reopen_transcript", "reopen_transcript", "", "0  always, also when no manager runs (as the original)")
}

func (c *ReopenCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

func (c *ReopenCommand) ParseArgs([]string) (*NoArgs, int) { return &NoArgs{}, 0 }

func (c *ReopenCommand) RunContext(context.Context, *NoArgs) int {
	c.reopen()
	return 0
}

func (m *Meta) reopen() {
	if _, ok := m.probeRaw(); !ok {
		if m.stalled != nil {
			fmt.Fprintln(m.Out, m.notResponding())
			return
		}
		fmt.Fprintln(m.Out, "daemon manager not running")
		return
	}
	_, _ = m.send("reopen_transcript")
}

// LogreopenCommand is "logreopen": reopen_transcript, then SIGUSR2.
type LogreopenCommand struct{ *Meta }

func (c *LogreopenCommand) Synopsis() string { return "Reopen logs and send SIGUSR2 to the program" }
func (c *LogreopenCommand) Help() string {
	return helpText("logreopen", "logreopen", "", "1  no program running, or the signal could not be sent")
}

func (c *LogreopenCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

func (c *LogreopenCommand) ParseArgs([]string) (*NoArgs, int) { return &NoArgs{}, 0 }

func (c *LogreopenCommand) RunContext(context.Context, *NoArgs) int {
	c.reopen()
	return c.kill("USR2")
}

// ShowCommand is "show [options|python|all]".
type ShowCommand struct{ *Meta }

// ShowArgs are show's: what to show (options when empty).
type ShowArgs struct{ Topic string }

func (c *ShowCommand) Synopsis() string { return "Show the effective options" }
func (c *ShowCommand) Help() string {
	return helpText("show [options|python|all]", "show", "", "0  always, also for an unknown topic (as the original)")
}

func (c *ShowCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

func (c *ShowCommand) ParseArgs(args []string) (*ShowArgs, int) {
	return &ShowArgs{Topic: joinArg(args)}, 0
}

// RunContext shows the topic; an unknown one gets the original's answer
// (exit 0).
func (c *ShowCommand) RunContext(_ context.Context, a *ShowArgs) int {
	switch topic := a.Topic; topic {
	case "", "options":
		c.showOptions()
	case "python":
		c.showRuntime()
	case "all":
		c.showOptions()
		fmt.Fprintln(c.Out)
		c.showRuntime()
	default:
		fmt.Fprintf(c.Out, "'ZDCmd' object has no attribute 'show_%s'\n", topic)
		fmt.Fprint(c.Out, topicHelp["show"])
	}
	return 0
}

func (m *Meta) showOptions() {
	cfg := m.Cfg
	none := func(s string) string {
		if s == "" {
			return "None"
		}
		return pyrepr.Str(s)
	}
	seconds := func(d interface{ Seconds() float64 }) string { return pyrepr.Float(d.Seconds()) }
	exe, _ := os.Executable()
	transcript := cfg.Transcript
	if transcript == "" {
		transcript = "/dev/null"
	}
	rows := [][2]string{
		{"schemafile", pyrepr.Str(orDefault(m.Opts.Schema, "schema.xml"))},
		{"configfile", none(cfg.ConfigFile)},
		{"zdrun", "None"},
		{"python", none(exe)},
		{"program", pyrepr.List(cfg.Program)},
		{"backofflimit", fmt.Sprint(cfg.BackoffLimit)},
		{"daemon", boolInt(cfg.Daemon)},
		{"forever", boolInt(cfg.Forever)},
		{"sockname", pyrepr.Str(cfg.SocketName)},
		{"exitcodes", intList(cfg.ExitCodes)},
		{"user", none(cfg.User)},
		{"umask", fmt.Sprintf("0o%o", cfg.Umask)},
		{"directory", none(cfg.Directory)},
		{"logfile", none(cfg.Logfile)},
		{"transcript", pyrepr.Str(transcript)},
		{"starttimeout", seconds(cfg.StartTimeout)},
		{"stoptimeout", seconds(cfg.StopTimeout)},
		{"startgrace", seconds(cfg.StartGrace)},
		{"signalgroup", boolInt(cfg.SignalGroup)},
	}
	fmt.Fprintln(m.Out, "zdctl/zdrun options:")
	for _, r := range rows {
		fmt.Fprintf(m.Out, "%-13s %s\n", r[0]+":", r[1])
	}
	if len(cfg.Environment) > 0 {
		fmt.Fprintln(m.Out, "environment:")
		for _, e := range cfg.Environment {
			fmt.Fprintf(m.Out, "    %s=%s\n", e.Name, pyrepr.Str(e.Value))
		}
	}
	// The running manager's plugins, when one answers (the original's
	// manager has none, and does not know the command).
	if _, ok := m.probeRaw(); !ok || m.oldManager {
		return
	}
	if v, err := m.send("version"); err == nil && v != "" && !control.IsUnknown(v) {
		fmt.Fprintf(m.Out, "%-13s zdrun %s\n", "manager:", strings.TrimSpace(v))
	}
	reply, err := m.send("plugins")
	switch {
	case control.IsUnknown(reply):
		m.oldManager = true
	case err == nil && strings.TrimSpace(reply) != "none" && reply != "":
		fmt.Fprintln(m.Out, "plugins:")
		for _, line := range strings.Split(strings.TrimSpace(reply), "\n") {
			fmt.Fprintf(m.Out, "    %s\n", line)
		}
	}
}

func (m *Meta) showRuntime() {
	exe, _ := os.Executable()
	wd, _ := os.Getwd()
	fmt.Fprintln(m.Out, "Python info:")
	fmt.Fprintf(m.Out, "%-13s %s\n", "Version:", runtime.Version())
	fmt.Fprintf(m.Out, "%-13s %s\n", "Platform:", runtime.GOOS+"/"+runtime.GOARCH)
	fmt.Fprintf(m.Out, "%-13s %s\n", "Executable:", pyrepr.Str(exe))
	fmt.Fprintf(m.Out, "%-13s %s\n", "Arguments:", pyrepr.List(os.Args))
	fmt.Fprintf(m.Out, "%-13s %s\n", "Directory:", pyrepr.Str(wd))
	fmt.Fprintln(m.Out, "Path:")
	for _, dir := range strings.Split(os.Getenv("PATH"), ":") {
		fmt.Fprintf(m.Out, "    %s\n", pyrepr.Str(dir))
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func boolInt(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func intList(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
