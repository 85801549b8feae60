package command

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/controlproto"
)

// reload against a fake manager: what it asks, what it prints for each
// answer, and its exit status.
func TestReloadRunContext(t *testing.T) {
	running := "status=running\nmanager=41\napplication=42\nshould_be_up=1\n"
	idle := "status=stopped\nmanager=41\napplication=0\nshould_be_up=0\n"
	for _, tt := range []struct {
		name   string
		status string // "" = no manager
		reply  string // to "reload ..."
		code   int
		out    string
	}{
		{"no manager", "", "", 1, "daemon manager not running\n"},
		{"not running", idle, "", 1, "daemon process not running\n"},
		{"gone meanwhile", running, controlproto.ReplyNotRunning, 1, "daemon process not running\n"},
		{"old manager", running, controlproto.ReplyUnknown("reload"), 1,
			"Error: the daemon manager does not support reload (it is an older manager); restart it with a newer zdaemon, or use kill HUP\n"},
		{"signal only", running, "Sent SIGHUP to pid 42", 0, "sent SIGHUP to pid 42\n"},
		{"reloaded", running, "Sent SIGUSR1 to pid 42\n" + controlproto.ReplyReloaded, 0, "sent SIGUSR1 to pid 42\ndaemon process reloaded\n"},
		{"timed out", running, "Sent SIGHUP to pid 42\n" + controlproto.ReplyReloadTimeout, 1,
			"sent SIGHUP to pid 42\nProgram took too long to reload (no RELOADING=1 and then READY=1 within 7s); it was left running\n"},
		{"exited", running, "Sent SIGHUP to pid 42\n" + controlproto.ReplyReloadExited, 1, "sent SIGHUP to pid 42\ndaemon process exited while reloading\n"},
		{"starting", running, controlproto.ReplyReloadStarting, 1, "daemon process is still starting; reload it once it is up\n"},
		{"stopping", running, controlproto.ReplyReloadStopping, 1, "daemon process is stopping; nothing to reload\n"},
		{"busy", running, controlproto.ReplyReloadBusy, 1, "daemon process is already reloading\n"},
		{"signal failed", running, "Kill 1 failed: [Errno 1] Operation not permitted", 1, "Error: Kill 1 failed: [Errno 1] Operation not permitted\n"},
		{"no reply", running, "", 1, "daemon manager did not answer reload: the connection closed without a reply\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMeta()
			var asked []string
			m.Send = func(_ context.Context, _, line string) (string, error) {
				asked = append(asked, line)
				switch {
				case tt.status == "":
					return "", fmt.Errorf("test: %w", controlproto.ErrNoManager)
				case line == "status":
					return tt.status, nil
				}
				return tt.reply, nil
			}
			m.Cfg = config.Default()
			m.Cfg.StartTimeout = 7 * time.Second
			m.Socket = "/nonexistent/zd.sock"
			code := (&ReloadCommand{m}).RunContext(context.Background(), &NoArgs{})
			out, errs := outputs(m)
			if code != tt.code || out != tt.out || errs != "" {
				t.Errorf("exit %d, want %d\nstdout %q\nwant   %q\nstderr %q", code, tt.code, out, tt.out, errs)
			}
			if tt.reply != "" && !strings.Contains(strings.Join(asked, ","), "reload 7000") {
				t.Errorf("asked %q, want reload 7000 (start-timeout in ms)", asked)
			}
		})
	}
}
