package command

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zdaemon/zdaemon/core/controlproto"
	"github.com/zdaemon/zdaemon/core/pyrepr"
	"github.com/zdaemon/zdaemon/core/report"
	"github.com/zdaemon/zdaemon/core/resolve"
	"github.com/zdaemon/zdaemon/core/signame"
)

// StatusCommand is "status [-l | -json]".
type StatusCommand struct{ *Meta }

// StatusArgs are status's: -l adds the raw status reply, -json prints
// the status as one JSON object instead.
type StatusArgs struct{ Long, JSON bool }

func (c *StatusCommand) Synopsis() string { return "Print status for the daemon process" }
func (c *StatusCommand) Help() string {
	return helpText("status [-l | -json]", "status", `-json prints the job's status as one JSON object (schema in the README):
state, pids, uptime, starts, back-off, the last exit, plugins, transcript.`,
		"0  the manager is running (whether or not the program is)\n1  bad argument, or -json against a manager without it\n3  the manager is not running\n4  the manager does not answer (it holds the socket, no reply within 5s)")
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
	if arg != "" && arg != "-l" && arg != "-json" {
		fmt.Fprintln(c.Out, "status argument must be absent or -l")
		return nil, 1
	}
	return &StatusArgs{Long: arg == "-l", JSON: arg == "-json"}, 0
}

func (c *StatusCommand) RunContext(_ context.Context, a *StatusArgs) int {
	if a.JSON {
		return c.jsonReply("status-json", "status -json", report.StatusSchema, 3)
	}
	return c.status(a.Long)
}

// jsonReply sends a command whose reply is JSON and prints it indented.
// No manager: {"schema":N,"state":"manager-not-running"} (N the reply's
// schema version) and downCode; a manager without the command (an older
// one): an error, exit 1.
func (m *Meta) jsonReply(line, what string, schema, downCode int) int {
	reply, code, ok := m.sendAdded(line, what, func() {
		fmt.Fprintf(m.Out, "{\n  \"schema\": %d,\n  \"state\": \"manager-not-running\"\n}\n", schema)
	})
	if !ok {
		if code == 3 {
			code = downCode
		}
		return code
	}
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(reply), "", "  "); err != nil {
		fmt.Fprintf(m.Err, "Error: the daemon manager answered: %s\n", strings.TrimSpace(reply))
		return 1
	}
	b.WriteByte('\n')
	_, _ = m.Out.Write(b.Bytes())
	return 0
}

// sendAdded sends a command that only our managers know. When there is
// no answer to print it says why and returns the exit status: down() then
// 3 without a manager, 4 for one that does not answer, 1 for an older
// manager (the original's) that does not know the command.
func (m *Meta) sendAdded(line, what string, down func()) (reply string, code int, ok bool) {
	reply, err := m.send(line)
	switch {
	case m.stalled != nil:
		fmt.Fprintln(m.Err, "Error: "+m.notResponding())
		return "", exitNotResponding, false
	case err != nil || reply == "":
		down()
		return "", 3, false
	case controlproto.IsUnknown(reply):
		fmt.Fprintf(m.Err, "Error: the daemon manager on %s does not support %s (it is an older one)\n", m.Socket, what)
		return "", 1, false
	}
	return reply, 0, true
}

func (m *Meta) sayNotRunning() { fmt.Fprintln(m.Out, "daemon manager not running") }

// HistoryCommand is "history [-json] [N]": the last runs of the program.
type HistoryCommand struct{ *Meta }

// HistoryArgs are history's: how many runs, and JSON or a table.
type HistoryArgs struct {
	N    int
	JSON bool
}

func (c *HistoryCommand) Synopsis() string { return "Print the program's last runs" }
func (c *HistoryCommand) Help() string {
	return `Usage: zdaemon [options] history [-json] [N]

  Prints the program's last N runs (default 20; the manager remembers 100):
  when each started, how long it ran, how it ended (exit status, signal,
  stop, restart, the manager's shutdown) and the back-off before the next
  start. -json prints them as one JSON object (schema in the README).

Exit status:
  0  printed
  1  bad argument, or a manager without history (an older one)
  3  the manager is not running`
}

func (c *HistoryCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

// ParseArgs takes -json and a count, in any order.
func (c *HistoryCommand) ParseArgs(args []string) (*HistoryArgs, int) {
	a := &HistoryArgs{N: 20}
	for _, w := range words(args) {
		if w == "-json" {
			a.JSON = true
			continue
		}
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 {
			c.Ui.Error(fmt.Sprintf("Error: history takes a number of runs (1 or more) and -json, not %q\n", w) + c.Help())
			return nil, 1
		}
		a.N = n
	}
	return a, 0
}

func (c *HistoryCommand) RunContext(_ context.Context, a *HistoryArgs) int {
	line := fmt.Sprintf("history %d", a.N)
	if a.JSON {
		return c.jsonReply(line, "history", report.HistorySchema, 3)
	}
	reply, code, ok := c.sendAdded(line, "history", c.sayNotRunning)
	if !ok {
		return code
	}
	var h report.History
	if err := json.Unmarshal([]byte(reply), &h); err != nil {
		fmt.Fprintf(c.Err, "Error: the daemon manager answered: %s\n", strings.TrimSpace(reply))
		return 1
	}
	fmt.Fprintf(c.Out, "%-25s  %7s  %-8s  %-12s  %s\n", "STARTED", "PID", "RAN", "ENDED", "NEXT START")
	for _, r := range h.Runs {
		ended := r.Ended
		switch {
		case r.Signal != "":
			ended += " " + r.Signal
		case r.ExitCode != nil:
			ended += " " + strconv.Itoa(*r.ExitCode)
		}
		next := "-"
		if r.NextDelaySeconds != nil {
			next = fmt.Sprintf("after %gs", *r.NextDelaySeconds)
		}
		fmt.Fprintf(c.Out, "%-25s  %7d  %-8s  %-12s  %s\n", r.Start.Format(time.RFC3339), r.Pid,
			(time.Duration(r.RanSeconds * float64(time.Second))).Round(time.Millisecond).String(), ended, next)
	}
	return 0
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
	st, parsed := controlproto.ParseStatus(reply)
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
	if len(c.Cfg.Listen) > 0 {
		// The sockets are the manager's to hold; start or run holds them.
		fmt.Fprintln(c.Err, "Warning: fg runs the program without its listen sockets (no LISTEN_FDS); use run to hold them in the foreground")
	}
	fmt.Fprintln(c.Out, strings.Join(argv, " "))
	file, err := c.resolveProgram()
	if err != nil {
		fmt.Fprintf(c.Err, "Error: %s\n", resolve.Message(err))
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
	if cfg.Watchdog > 0 {
		rows = append(rows, [2]string{"watchdog", seconds(cfg.Watchdog)})
	}
	fmt.Fprintln(m.Out, "zdctl/zdrun options:")
	for _, r := range rows {
		fmt.Fprintf(m.Out, "%-13s %s\n", r[0]+":", r[1])
	}
	m.showSignals()
	if len(cfg.Environment) > 0 {
		fmt.Fprintln(m.Out, "environment:")
		for _, e := range cfg.Environment {
			fmt.Fprintf(m.Out, "    %s=%s\n", e.Name, pyrepr.Str(e.Value))
		}
	}
	m.showListen()
	// The running manager's plugins, when one answers (the original's
	// manager has none, and does not know the command).
	if _, ok := m.probeRaw(); !ok || m.oldManager {
		return
	}
	if v, err := m.send("version"); err == nil && v != "" && !controlproto.IsUnknown(v) {
		fmt.Fprintf(m.Out, "%-13s zdrun %s\n", "manager:", strings.TrimSpace(v))
	}
	reply, err := m.send("plugins")
	switch {
	case controlproto.IsUnknown(reply):
		m.oldManager = true
	default:
		m.showSection("plugins", reply, err)
	}
	if !m.oldManager {
		reply, err := m.send("health")
		m.showSection("health", reply, err)
	}
}

// showSection prints a manager's reply of lines under a title, unless it
// is "none", empty or failed (an older manager answers Unknown command).
func (m *Meta) showSection(title, reply string, err error) {
	reply = strings.TrimSpace(reply)
	if err != nil || reply == "none" || reply == "" || controlproto.IsUnknown(reply) {
		return
	}
	fmt.Fprintln(m.Out, title+":")
	for _, line := range strings.Split(reply, "\n") {
		fmt.Fprintf(m.Out, "    %s\n", line)
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

// MetricsCommand is "metrics": the job's metrics, as a Prometheus scrape
// of the manager gets them.
type MetricsCommand struct{ *Meta }

func (c *MetricsCommand) Synopsis() string { return "Print the job's metrics (Prometheus text)" }
func (c *MetricsCommand) Help() string {
	return `Usage: zdaemon [options] metrics

  Prints the job's metrics in the Prometheus text format, as a scrape of
  the manager's metrics endpoint gets them (metrics { address = ... } in
  the job file serves them over HTTP at /metrics): the program up, starts,
  exits by reason, the last exit code, uptime, back-off, the transcript
  sink's restarts, control requests, and the manager process's own.

Exit status:
  0  printed
  1  a manager without metrics (an older one), or an error
  3  the manager is not running`
}

func (c *MetricsCommand) Run(args []string) int {
	if len(words(args)) > 0 {
		c.Ui.Error(c.Help())
		return 1
	}
	return c.RunContext(context.Background())
}

func (c *MetricsCommand) RunContext(_ context.Context) int {
	reply, code, ok := c.sendAdded("metrics-json", "metrics", c.sayNotRunning)
	if !ok {
		return code
	}
	// The manager answers a snapshot as data; the plugin host's
	// executable, which links the Prometheus library, renders it.
	return c.runPluginHost(strings.NewReader(reply), "metrics")
}
