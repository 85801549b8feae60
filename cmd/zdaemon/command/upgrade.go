package command

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/zdaemon/zdaemon/core/controlproto"
)

// UpgradeCommand is "upgrade": the running manager re-executes the
// manager executable now installed, in place, and the program goes on.
type UpgradeCommand struct{ *Meta }

func (c *UpgradeCommand) Synopsis() string { return "Upgrade the manager under the running program" }
func (c *UpgradeCommand) Help() string {
	return `Usage: zdaemon [options] upgrade

  Makes the running daemon manager re-execute the manager executable now
  installed at the path it was started from (zdrun, or zdrun-plugins for a
  job with a transcript, start tests or a metrics endpoint), in place: it
  keeps its pid, so the program stays its child and runs on undisturbed
  (same pid, no signal, no output lost), and the new manager takes over
  the program, its back-off, the run history, the transcript and its sink,
  the notification endpoints, the listen sockets, the metrics endpoint and
  the control socket (clients wait in its backlog meanwhile, none is
  refused). Install the new executables first (rename each into place),
  then run upgrade.

  The new executable is asked first whether it can take over; when it
  cannot (it does not run, exits at once or refuses the state), or the
  program is starting or stopping, the running manager goes on as it was
  and upgrade says why.

Exit status:
  0  upgraded: the new manager answered, with its version
  1  not upgraded (the reason is printed), no manager runs, or the manager
     does not support upgrade (the original's)`
}

func (c *UpgradeCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

func (c *UpgradeCommand) ParseArgs([]string) (*NoArgs, int) { return &NoArgs{}, 0 }

// upgradeTimeout bounds the whole upgrade: the new executable's check
// (10 s at most), the execve and the new manager's start.
const upgradeTimeout = 60 * time.Second

func (c *UpgradeCommand) RunContext(ctx context.Context, _ *NoArgs) int {
	if _, ok := c.probeRaw(); !ok {
		if c.stalled != nil {
			fmt.Fprintln(c.Err, "Error: "+c.notResponding())
			return 1
		}
		fmt.Fprintln(c.Out, "daemon manager not running")
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, upgradeTimeout)
	defer cancel()
	reply, err := c.send1(ctx, "upgrade")
	reply = strings.TrimSpace(reply)
	switch {
	case controlproto.IsUnknown(reply):
		fmt.Fprintln(c.Err, "Error: this daemon manager does not support upgrade (it is the original's, or older); restart it instead")
		return 1
	case strings.HasPrefix(reply, controlproto.ReplyCannotUpgrade):
		fmt.Fprintf(c.Err, "Error: cannot upgrade the daemon manager: %s\nThe running manager goes on unchanged.\n", strings.TrimPrefix(reply, controlproto.ReplyCannotUpgrade))
		return 1
	}
	if f, ok := controlproto.ParseUpgraded(reply); ok {
		fmt.Fprintf(c.Out, "daemon manager upgraded to zdrun %s (was %s); pid=%s\n", f["version"], f["from"], f["pid"])
		return 0
	}
	why := "it closed the connection without an answer"
	if err != nil {
		why = err.Error()
	}
	status := "daemon manager not running"
	if s, ok := c.probeRaw(); ok {
		if st, ok := controlproto.ParseStatus(s); ok && st.Running {
			status = fmt.Sprintf("program running; pid=%d", st.Application)
		} else {
			status = "daemon manager running; daemon process not running"
		}
	}
	fmt.Fprintf(c.Err, "Error: the daemon manager did not answer the upgrade (%s); now: %s\n", why, status)
	return 1
}
