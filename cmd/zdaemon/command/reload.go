package command

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/zdaemon/zdaemon/core/controlproto"
)

// ReloadCommand is "reload": send reload-signal to the program and, with
// a notify check, wait until it has reloaded.
type ReloadCommand struct{ *Meta }

func (c *ReloadCommand) Synopsis() string { return "Make the program reload its configuration" }
func (c *ReloadCommand) Help() string {
	return `Usage: zdaemon [options] reload

  Sends reload-signal (runner, default SIGHUP) to the program's main
  process, as systemd's ExecReload=kill -HUP $MAINPID does, and prints
  what it sent to which pid. With a notify health check, it then waits
  until the program has reloaded: systemd's notify-reload protocol, the
  program sends RELOADING=1 to $NOTIFY_SOCKET, reloads, and sends
  READY=1 (a READY=1 without RELOADING=1 first does not count), at most
  start-timeout. The program is never stopped or restarted by reload.

Exit status:
  0  the signal was sent (and, with a notify check, the program reported
     that it has reloaded)
  1  no program is running, it is starting or stopping, it did not
     report within start-timeout (it is left running), it exited
     meanwhile, the manager does not answer, or the manager does not
     support reload`
}

func (c *ReloadCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

// ParseArgs takes nothing (words after it are ignored, as after stop).
func (c *ReloadCommand) ParseArgs([]string) (*NoArgs, int) { return &NoArgs{}, 0 }

func (c *ReloadCommand) RunContext(context.Context, *NoArgs) int {
	st, ok := c.probe()
	switch {
	case !ok && c.stalled != nil:
		fmt.Fprintln(c.Out, c.notResponding())
		return 1
	case !ok:
		fmt.Fprintln(c.Out, "daemon manager not running")
		return 1
	case st.Application == 0:
		fmt.Fprintln(c.Out, "daemon process not running")
		return 1
	}
	timeout := c.Cfg.StartTimeout
	// The manager answers by the timeout; the margin is for the answer.
	ctx, cancel := context.WithTimeout(context.Background(), timeout+probeTimeout)
	defer cancel()
	reply, err := c.send1(ctx, fmt.Sprintf("reload %d", timeout.Milliseconds()))
	if err != nil || reply == "" {
		fmt.Fprintf(c.Out, "daemon manager did not answer reload: %v\n", orGone(err))
		return 1
	}
	if controlproto.IsUnknown(reply) {
		fmt.Fprintln(c.Out, "Error: the daemon manager does not support reload (it is an older manager); restart it with a newer zdaemon, or use kill HUP")
		return 1
	}
	first, outcome, _ := strings.Cut(strings.TrimSpace(reply), "\n")
	if msg, ok := reloadRefused[first]; ok {
		fmt.Fprintln(c.Out, msg)
		return 1
	}
	if !strings.HasPrefix(first, "Sent ") {
		fmt.Fprintf(c.Out, "Error: %s\n", first)
		return 1
	}
	fmt.Fprintln(c.Out, "s"+first[1:]) // "sent SIGHUP to pid 123"
	switch outcome {
	case "":
		return 0
	case controlproto.ReplyReloaded:
		fmt.Fprintln(c.Out, "daemon process reloaded")
		return 0
	case controlproto.ReplyReloadTimeout:
		fmt.Fprintf(c.Out, "Program took too long to reload (no RELOADING=1 and then READY=1 within %v); it was left running\n", timeout)
	case controlproto.ReplyReloadExited:
		fmt.Fprintln(c.Out, "daemon process exited while reloading")
	default:
		fmt.Fprintf(c.Out, "Error: %s\n", outcome)
	}
	return 1
}

// reloadRefused are the manager's refusals of a reload, and what reload
// prints for each.
var reloadRefused = map[string]string{
	controlproto.ReplyNotRunning:     "daemon process not running",
	controlproto.ReplyReloadStarting: "daemon process is still starting; reload it once it is up",
	controlproto.ReplyReloadStopping: "daemon process is stopping; nothing to reload",
	controlproto.ReplyReloadBusy:     "daemon process is already reloading",
}

// orGone names a missing reply.
func orGone(err error) error {
	if err == nil {
		return errors.New("the connection closed without a reply")
	}
	return err
}
