package supervisor

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/zdaemon/zdaemon/core/controlproto"
	"github.com/zdaemon/zdaemon/core/manager"
)

// serviceNotifier speaks systemd's notify protocol (sd_notify(3)) for a
// manager that a service manager started in the foreground ("zdaemon run"
// in a Type=notify unit): READY=1 once the program is first up (its start
// tests passed), STATUS= on every change, STOPPING=1 when it stops. The
// socket is $NOTIFY_SOCKET of the manager's own environment (the program
// never sees it: it has its own, when a notify check asks for one).
type serviceNotifier struct {
	conn  *net.UnixConn
	ready bool
	log   *slog.Logger
}

// newServiceNotifier connects to $NOTIFY_SOCKET; nil when it is unset or
// cannot be reached (said in the event log: systemd would then wait for a
// READY=1 that never comes, until its start timeout).
func newServiceNotifier(log *slog.Logger) *serviceNotifier {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:] // an abstract socket
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		log.Warn(fmt.Sprintf("cannot tell the service manager about the job: NOTIFY_SOCKET %s: %v", os.Getenv("NOTIFY_SOCKET"), err))
		return nil
	}
	return &serviceNotifier{conn: conn, log: log}
}

// changed is manager.Options.OnChange: it never blocks the loop (a
// datagram socket whose reader is gone fails at once).
func (s *serviceNotifier) changed(st manager.State, status controlproto.Status) {
	var msg []string
	switch st {
	case manager.Running:
		if !status.Testing {
			if !s.ready {
				msg = append(msg, "READY=1")
				s.ready = true
			}
			msg = append(msg, fmt.Sprintf("STATUS=running, pid %d", status.Application))
		} else {
			msg = append(msg, fmt.Sprintf("STATUS=testing, pid %d", status.Application))
		}
	case manager.Starting:
		msg = append(msg, fmt.Sprintf("STATUS=starting, pid %d", status.Application))
	case manager.Backoff:
		msg = append(msg, "STATUS=program exited; restarting after back-off")
	case manager.Stopping, manager.Exiting:
		if st == manager.Stopping && status.ShouldBeUp {
			msg = append(msg, "STATUS=restarting") // a restart, not the end
			break
		}
		msg = append(msg, "STOPPING=1", "STATUS=stopping")
	default:
		msg = append(msg, "STATUS="+st.String())
	}
	s.send(strings.Join(msg, "\n"))
}

func (s *serviceNotifier) send(msg string) {
	_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := s.conn.Write([]byte(msg)); err != nil {
		s.log.Debug(fmt.Sprintf("NOTIFY_SOCKET: %v", err))
	}
}

func (s *serviceNotifier) close() { _ = s.conn.Close() }
