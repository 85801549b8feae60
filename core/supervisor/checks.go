package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/handover"
	"github.com/zdaemon/zdaemon/core/manager"
)

// jobChecks are a manager's start tests and the notification channels it
// keeps for them.
type jobChecks struct {
	prober    Prober        // nil without checks
	progFiles []*os.File    // the program's descriptors 3...
	notify    *notifySocket // nil when the program gets no $NOTIFY_SOCKET
	inputs    []drainable   // the manager's ends, drained before each spawn
	// notifyCheck: a built-in notify check (socket form) runs, so the
	// program speaks the notify protocol and reload follows it.
	notifyCheck bool
	closers     []func()
	// files are the endpoints an upgrade hands over, by name
	// ("notify:socket", "notify:pipe:0" and its ":program" end).
	files map[string]*os.File
	in    *handover.In // what a previous manager handed over; nil
}

// startChecks starts the prober of the job's checks. For a built-in notify
// check the manager itself binds the notification socket (sd_notify) or
// keeps the notification pipe (s6's fd = N), so that they exist before the
// program starts and hold its report while no check process runs. A
// watchdog needs the notification socket too. A manager that took over
// from another (in) keeps its endpoints.
func startChecks(ctx context.Context, plugins Plugins, env PluginEnv, cfg *config.Config, in *handover.In) (*jobChecks, error) {
	log := env.Log
	jc := &jobChecks{files: map[string]*os.File{}, in: in}
	cfgs := cfg.AllChecks()
	if cfg.Watchdog > 0 {
		if err := jc.bindNotify(cfg, "", log); err != nil {
			return nil, err
		}
	}
	if len(cfgs) == 0 {
		return jc, nil
	}
	checks := make([]Check, len(cfgs))
	for i, cc := range cfgs {
		checks[i].CheckConfig = cc
		if cc.Kind != "notify" || cc.Plugin != "" {
			continue
		}
		var err error
		if fd, ok := cc.Settings["fd"].(float64); ok {
			checks[i].Files, err = jc.notifyPipe(int(fd), fmt.Sprintf("notify:pipe:%d", i))
		} else {
			checks[i].Files, err = jc.notifySocket(cfg, cc, log)
		}
		if err != nil {
			jc.close()
			return nil, err
		}
	}
	prober, err := plugins.StartProber(ctx, env, checks)
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
func (jc *jobChecks) notifyPipe(fd int, name string) ([]*os.File, error) {
	r, w := jc.in.PollableFile(name), jc.in.File(name+":program")
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
// reads what the manager passes on from there as its fd 3.
func (jc *jobChecks) notifySocket(cfg *config.Config, cc config.CheckConfig, log *slog.Logger) ([]*os.File, error) {
	sock, _ := cc.Settings["socket"].(string)
	if err := jc.bindNotify(cfg, sock, log); err != nil {
		return nil, err
	}
	end, err := jc.notify.checkEnd()
	if err != nil {
		return nil, err
	}
	cc.Settings["socket"] = jc.notify.path
	cc.Settings["inherited"] = true
	jc.notifyCheck = true
	return []*os.File{end}, nil
}

// bindNotify binds the job's notification socket, once: at path, or
// beside the control socket.
func (jc *jobChecks) bindNotify(cfg *config.Config, path string, log *slog.Logger) error {
	if jc.notify != nil {
		return nil
	}
	if path == "" {
		path = cfg.SocketName + ".notify"
	}
	var ns *notifySocket
	var err error
	if f := jc.in.File("notify:socket"); f != nil {
		ns, err = adoptNotify(f, path, log)
	} else {
		ns, err = bindNotify(path, log)
	}
	if err != nil {
		jc.close()
		return err
	}
	jc.notify = ns
	jc.files["notify:socket"] = ns.file
	jc.closers = append(jc.closers, ns.close)
	return nil
}

// notices, relay and drain are the notification socket's, or nothing
// without one.
func (jc *jobChecks) notices() <-chan manager.Notice {
	if jc.notify == nil {
		return nil
	}
	return jc.notify.notices
}

func (jc *jobChecks) relay(text string) {
	if jc.notify != nil {
		jc.notify.relay(text)
	}
}

// drainStale discards what earlier runs of the program reported on the
// notification channels, so that only the new run's report counts.
func (jc *jobChecks) drainStale() {
	if jc.notify != nil {
		jc.notify.drain()
	}
	drainStale(jc.inputs)
}

// unlinkNotify removes the notification socket's path (see
// notifySocket.unlink), if there is one.
func (jc *jobChecks) unlinkNotify() {
	if jc.notify != nil {
		jc.notify.unlink()
	}
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
