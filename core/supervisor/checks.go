package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/handover"
	"github.com/zdaemon/zdaemon/core/pluginhost"
)

// jobChecks are a manager's start tests and the notification channels it
// keeps for them.
type jobChecks struct {
	prober    *pluginhost.Prober // nil without checks
	progFiles []*os.File         // the program's descriptors 3...
	env       []string           // added to the program's environment
	inputs    []drainable        // the manager's ends, drained before each spawn
	closers   []func()
	// files are the endpoints by hand-over name ("notify:socket:0").
	files map[string]*os.File
}

// startChecks starts the prober of the job's checks. For a built-in notify
// check the manager itself binds the notification socket (sd_notify) or
// keeps the notification pipe (s6's fd = N), so that they exist before the
// program starts and hold its report while no check process runs.
// A manager that took over from another (in) keeps its endpoints.
func startChecks(ctx context.Context, exe string, cfg *config.Config, reaper *child.Reaper, log *slog.Logger, in *handover.In) (*jobChecks, error) {
	jc := &jobChecks{files: map[string]*os.File{}}
	cfgs := cfg.AllChecks()
	if len(cfgs) == 0 {
		return jc, nil
	}
	checks := make([]pluginhost.Check, len(cfgs))
	for i, cc := range cfgs {
		checks[i].CheckConfig = cc
		if cc.Kind != "notify" || cc.Plugin != "" {
			continue
		}
		var err error
		if fd, ok := cc.Settings["fd"].(float64); ok {
			checks[i].Files, err = jc.notifyPipe(int(fd), fmt.Sprintf("notify:pipe:%d", i), in)
		} else {
			checks[i].Files, err = jc.notifySocket(cfg, cc, fmt.Sprintf("notify:socket:%d", i), in)
		}
		if err != nil {
			jc.close()
			return nil, err
		}
	}
	host := &pluginhost.Host{Exe: exe, Reaper: reaper, Logger: log}
	prober, err := host.StartProber(ctx, checks)
	if err != nil {
		jc.close()
		return nil, err
	}
	jc.prober = prober
	jc.closers = append(jc.closers, prober.Close)
	return jc, nil
}

// notifyPipe: the program writes a line to its fd N; the check reads the
// other end as its fd 3.
func (jc *jobChecks) notifyPipe(fd int, name string, in *handover.In) ([]*os.File, error) {
	r, w := in.PollableFile(name), in.File(name+":program")
	if r == nil || w == nil {
		var err error
		if r, w, err = os.Pipe(); err != nil {
			return nil, fmt.Errorf("notification pipe: %w", err)
		}
	}
	jc.files[name], jc.files[name+":program"] = r, w
	jc.closers = append(jc.closers, func() { r.Close(); w.Close() })
	jc.inputs = append(jc.inputs, r)
	for len(jc.progFiles) < fd-3 {
		jc.progFiles = append(jc.progFiles, nil)
	}
	jc.progFiles = append(jc.progFiles[:fd-3], w)
	return []*os.File{r}, nil
}

// notifySocket: the program sends READY=1 to $NOTIFY_SOCKET; the check
// reads the socket as its fd 3.
func (jc *jobChecks) notifySocket(cfg *config.Config, cc config.CheckConfig, name string, in *handover.In) ([]*os.File, error) {
	sock, _ := cc.Settings["socket"].(string)
	if sock == "" {
		sock = cfg.SocketName + ".notify"
		cc.Settings["socket"] = sock
	}
	conn, f, err := adoptNotifySocket(in, name)
	if err != nil {
		return nil, err
	}
	if conn == nil {
		if conn, f, err = bindNotifySocket(sock); err != nil {
			return nil, err
		}
	}
	jc.files[name] = f
	jc.closers = append(jc.closers, func() { f.Close(); conn.Close(); os.Remove(sock) })
	cc.Settings["inherited"] = true
	jc.inputs = append(jc.inputs, conn)
	jc.env = append(jc.env, "NOTIFY_SOCKET="+sock)
	return []*os.File{f}, nil
}

// bindNotifySocket binds the notification socket at sock: the manager's
// end and the check's descriptor.
func bindNotifySocket(sock string) (*net.UnixConn, *os.File, error) {
	// A leftover of an earlier manager is removed; anything else at the
	// path (a file, a link someone put there) is left alone, and the bind
	// below then fails naming it.
	if fi, err := os.Lstat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
		_ = os.Remove(sock)
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		return nil, nil, fmt.Errorf("notification socket: %w", err)
	}
	f, err := conn.File()
	if err != nil {
		conn.Close()
		os.Remove(sock)
		return nil, nil, fmt.Errorf("notification socket: %w", err)
	}
	return conn, f, nil
}

// close stops the checks and closes the channels, last opened first.
func (jc *jobChecks) close() {
	for i := len(jc.closers) - 1; i >= 0; i-- {
		jc.closers[i]()
	}
	jc.closers = nil
}

// drainable is a notification channel's end the manager keeps.
type drainable interface {
	SetReadDeadline(time.Time) error
	Read([]byte) (int, error)
}

// drainStale discards what earlier runs of the program reported on the
// notification channels, so that only the new run's report counts.
func drainStale(inputs []drainable) {
	buf := make([]byte, 4096)
	for _, in := range inputs {
		_ = in.SetReadDeadline(time.Now())
		for {
			if _, err := in.Read(buf); err != nil {
				break
			}
		}
		_ = in.SetReadDeadline(time.Time{})
	}
}
