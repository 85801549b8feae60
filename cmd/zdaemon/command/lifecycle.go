package command

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zdaemon/zdaemon/core/daemon"
	"github.com/zdaemon/zdaemon/core/resolve"
)

// StartCommand is "start": start the manager and the program, and wait
// until the program is up.
type StartCommand struct{ *Meta }

// StartArgs are start's: the words appended to the program's arguments.
type StartArgs struct{ Extra []string }

func (c *StartCommand) Synopsis() string { return "Start the daemon process" }
func (c *StartCommand) Help() string {
	return helpText("start [ARGS...]", "start", programWords("start"),
		"1  the program did not start, or took longer than start-timeout\n130  interrupted")
}

func (c *StartCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

// ParseArgs takes the program's words: all of them, the first "--" left
// out.
func (c *StartCommand) ParseArgs(args []string) (*StartArgs, int) {
	return &StartArgs{Extra: words(args)}, 0
}

func (c *StartCommand) RunContext(_ context.Context, a *StartArgs) int {
	return c.start(a.Extra, time.Now().Add(c.Cfg.StartTimeout))
}

// programWords documents how start, restart and fg pass words on.
func programWords(name string) string {
	return `The words after ` + name + ` are appended to the program's arguments.
-h, -help and --help print this help instead: to pass one to the
program, put -- before it ("zdaemon ` + name + ` -- -h"). The first -- is
dropped; every word after it goes to the program unchanged.`
}

// maxLostRaces bounds how often one start turns to a manager that won the
// race for the socket and then did not answer us (it vanished, or it is
// no manager).
const maxLostRaces = 3

// start is shared by start and restart (when nothing runs). A start whose
// manager loses the race for the socket to a concurrent start's (it finds
// that one serving the socket, and exits) carries on as if it had found
// the winner in the first place: it asks it again and waits like any start.
func (m *Meta) start(extra []string, deadline time.Time) int {
	for lost := 0; ; lost++ {
		st, ok := m.probe()
		switch {
		case !ok && m.stalled != nil: // never a second manager beside a stuck one
			fmt.Fprintln(m.Out, m.notResponding())
			return 1
		case ok && st.Application != 0:
			fmt.Fprintf(m.Out, "daemon process already running; pid=%d\n", st.Application)
			return 0
		case ok:
			if _, err := m.send("start"); err != nil {
				if m.stalled != nil {
					m.finish(m.notResponding())
					return 1
				}
				m.finish("daemon manager not running")
				return 1
			}
			if !m.Cfg.Daemon {
				return 0
			}
			return m.awaitUp(nil, 0, "daemon process started", deadline)
		}
		if lost == 0 {
			if err := m.listenDiags(); err != nil {
				return m.exit(err)
			}
		}
		// Lost the race: ask the winner. Losing again and again means
		// that what holds the socket answers no status; the error
		// below then says what it answered.
		hand, err := m.spawnManager(extra)
		if errors.Is(err, daemon.ErrInUse) && lost < maxLostRaces && time.Now().Before(deadline) {
			continue
		}
		if err != nil {
			var se *daemon.StartupError
			if errors.As(err, &se) && m.startupDiag(se) {
				// shown at the setting it is about
			} else if se != nil {
				fmt.Fprintln(m.Err, se.Msg)
				if se.Code == 2 {
					fmt.Fprintf(m.Err, "For help, use %s -h\n", m.Argv0)
				}
			} else {
				fmt.Fprintf(m.Err, "Error: %v\n", err)
			}
			m.finish("daemon manager not running")
			return 1
		}
		m.oldManager = false // ours, whatever answered before
		if !m.Cfg.Daemon {
			return 0
		}
		return m.awaitUp(hand, 0, "daemon process started", deadline)
	}
}

// spawnManager starts a manager for this job with the extra program words
// appended. In daemon mode it returns once the manager listens, with the
// hand-off on which the manager says when the program is up (awaitUp
// closes it); otherwise it waits for the manager to exit, as the original
// does.
func (m *Meta) spawnManager(extra []string) (*daemon.Manager, error) {
	if err := m.sinkDiags(); err != nil { // from the shell: not resolved yet
		var ee *exitError
		if errors.As(err, &ee) {
			return nil, &daemon.StartupError{Code: 2, Msg: "Error: invalid transcript configuration"}
		}
		return nil, &daemon.StartupError{Code: 1, Msg: "Error: " + err.Error()}
	}
	exe, err := managerExecutable()
	if err != nil {
		return nil, &daemon.StartupError{Code: 1, Msg: "Error: " + err.Error()}
	}
	cfg := *m.Cfg
	cfg.Sink, cfg.Checks = m.sink, m.checks
	cfg.Program = append(append([]string(nil), m.Cfg.Program...), extra...)
	cfg.SocketName = m.Socket
	cfg.Directory = expandHome(cfg.Directory)
	file, err := m.resolveProgram()
	if err != nil {
		return nil, &daemon.StartupError{Code: 2, Msg: "Error: " + resolve.Message(err)}
	}
	cfg.Filename = file
	spec := daemon.SpawnSpec{
		Exe:        exe,
		Args:       []string{handoffFlag},
		Env:        m.childEnv(),
		Credential: m.Cred,
		Detach:     cfg.Daemon,
	}
	if cfg.Daemon {
		spec.Dir = cfg.Directory
	}
	mgr, err := daemon.Spawn(spec, &cfg)
	if err != nil {
		return nil, err
	}
	werr := mgr.Wait(func(msg string) { fmt.Fprintln(m.Err, msg) })
	if cfg.Daemon {
		if werr != nil {
			_ = mgr.Reap() // it exits right after failing; do not leave a zombie
			return nil, werr
		}
		return mgr, nil // it lives on without us; init reaps it once we exit
	}
	// Not a daemon: the manager runs attached until it exits; its own
	// status does not matter (the original exits 0 here too).
	if werr == nil {
		_ = mgr.Close()
	}
	_ = mgr.Reap()
	return nil, werr
}

// StopCommand is "stop".
type StopCommand struct{ *Meta }

// StopArgs are stop's: none (words after it are ignored, as the
// original ignores them).
type StopArgs struct{}

func (c *StopCommand) Synopsis() string { return "Stop the daemon process" }
func (c *StopCommand) Help() string {
	return helpText("stop", "stop", "", "1  the program did not stop in time, or the manager does not answer\n130  interrupted")
}

func (c *StopCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

func (c *StopCommand) ParseArgs([]string) (*StopArgs, int) { return &StopArgs{}, 0 }

func (c *StopCommand) RunContext(context.Context, *StopArgs) int {
	st, ok := c.probeOnce()
	switch {
	case !ok && c.stalled != nil: // it may well run the program still
		fmt.Fprintln(c.Out, c.notResponding())
		return 1
	case !ok:
		fmt.Fprintln(c.Out, "daemon manager not running")
		return 0
	case st.Application == 0 && !st.ShouldBeUp:
		fmt.Fprintln(c.Out, "daemon process not running")
		return 0
	}
	if _, err := c.send("stop"); err != nil {
		if c.stalled != nil {
			c.finish(c.notResponding())
			return 1
		}
		c.finish("daemon process stopped") // it went away by itself
		return 0
	}
	return c.stopWait()
}

// stopWait waits for the program to be gone. The bound is generous: the
// manager escalates to SIGKILL after stop-timeout on its own.
func (m *Meta) stopWait() int {
	var deadline time.Time
	if m.Cfg.StopTimeout > 0 {
		deadline = time.Now().Add(m.Cfg.StopTimeout + time.Duration(m.Cfg.BackoffLimit)*time.Second + 10*time.Second)
	}
	res, st := m.awaitDown(deadline)
	if res == waitGone || res == waitStalled {
		// No answer: the manager exited (the usual end of a stop) or
		// dropped us. Never say "stopped" while the program may live.
		if now, ok := m.probe(); ok && now.Application != 0 {
			m.finish(fmt.Sprintf("daemon process did not stop; pid=%d", now.Application))
			return 1
		} else if !ok && m.stalled != nil {
			m.finish(m.notResponding())
			return 1
		}
		res = waitDone
	}
	switch res {
	case waitDone:
		m.finish("daemon process stopped")
		return 0
	case waitInterrupted:
		return m.interrupted()
	default:
		m.finish(fmt.Sprintf("daemon process did not stop; pid=%d", st.Application))
		return 1
	}
}

// RestartCommand is "restart".
type RestartCommand struct{ *Meta }

func (c *RestartCommand) Synopsis() string { return "Stop and then start the daemon process" }
func (c *RestartCommand) Help() string {
	return helpText("restart [ARGS...]", "restart",
		programWords("restart")+"\nThey are used only when nothing runs (restart then starts).",
		"1  the program did not start again, or took longer than start-timeout\n130  interrupted")
}

func (c *RestartCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

// ParseArgs takes the program's words, as start's.
func (c *RestartCommand) ParseArgs(args []string) (*StartArgs, int) {
	return &StartArgs{Extra: words(args)}, 0
}

func (c *RestartCommand) RunContext(_ context.Context, a *StartArgs) int {
	deadline := time.Now().Add(c.Cfg.StartTimeout)
	st, ok := c.probeOnce()
	if !ok || st.Application == 0 {
		return c.start(a.Extra, deadline)
	}
	if _, err := c.send("restart"); err != nil {
		if c.stalled != nil {
			c.finish(c.notResponding())
			return 1
		}
		c.finish("daemon manager not running")
		return 1
	}
	return c.awaitUp(nil, st.Application, "daemon process restarted", deadline)
}

// WaitCommand is "wait": wait for the program to exit.
type WaitCommand struct{ *Meta }

// WaitArgs are wait's: none (words after it are ignored).
type WaitArgs struct{}

func (c *WaitCommand) Synopsis() string { return "Wait for the daemon process to exit" }
func (c *WaitCommand) Help() string {
	return helpText("wait", "wait", "", "1  the manager does not answer\n130  interrupted")
}

func (c *WaitCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

func (c *WaitCommand) ParseArgs([]string) (*WaitArgs, int) { return &WaitArgs{}, 0 }

func (c *WaitCommand) RunContext(context.Context, *WaitArgs) int {
	res, _ := c.awaitDown(time.Time{})
	switch res {
	case waitInterrupted:
		return c.interrupted()
	case waitStalled:
		c.finish(c.notResponding())
		return 1
	}
	c.finish("daemon process stopped")
	c.status(false)
	return 0
}

// helpText builds a command's cli help from the original's topic text,
// notes of ours and the exit statuses beyond 0.
func helpText(usage, topic, notes, exits string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: zdaemon [options] %s\n\n", usage)
	for _, line := range strings.Split(strings.TrimRight(topicHelp[topic], "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	if notes != "" {
		b.WriteString("\n")
		for _, line := range strings.Split(notes, "\n") {
			b.WriteString("  " + line + "\n")
		}
	}
	if exits != "" {
		b.WriteString("\nExit status:\n")
		for _, line := range strings.Split(exits, "\n") {
			b.WriteString("  " + line + "\n")
		}
	}
	return strings.TrimSpace(b.String())
}
