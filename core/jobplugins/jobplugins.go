// Package jobplugins is the plugin side of a manager: it starts a job's
// transcript sink and start tests through the plugin host (the
// supervisor.Plugins of zdrun-plugins), serves the built-in plugins, and
// answers the describe sessions of "zdaemon validate". It is everything of
// the manager that links go-plugin, gRPC and protobuf; zdrun, the manager
// of jobs without plugins, links none of it.
package jobplugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/manager"
	"github.com/zdaemon/zdaemon/core/metrics"
	"github.com/zdaemon/zdaemon/core/pluginhost"
	"github.com/zdaemon/zdaemon/core/supervisor"
	"github.com/zdaemon/zdaemon/plugins/schema"
)

// Plugins starts plugins for the supervisor; Exe is the executable that
// serves the built-in ones ("EXE plugin KIND NAME").
type Plugins struct {
	Exe string
}

// StartSink starts the transcript sink sc on input.
func (p Plugins) StartSink(ctx context.Context, env supervisor.PluginEnv, sc config.PluginConfig, input *os.File) (supervisor.Sink, error) {
	host := p.host(env)
	s, err := host.StartSink(ctx, pluginhost.Spec{Kind: sc.Kind, Path: sc.Plugin}, sc.Settings, input)
	if err != nil {
		return nil, userError{err}
	}
	return sink{s}, nil
}

// AdoptSink re-attaches to the sink a previous manager handed over.
func (p Plugins) AdoptSink(env supervisor.PluginEnv, sc config.PluginConfig, input *os.File, st supervisor.SinkHandover, proc *child.Process, stdout, stderr *os.File) (supervisor.Sink, error) {
	var h pluginhost.Handover
	if err := json.Unmarshal(st.Host, &h); err != nil {
		return nil, fmt.Errorf("the sink handed over: %w", err)
	}
	host := p.host(env)
	s, err := host.AdoptSink(pluginhost.Spec{Kind: sc.Kind, Path: sc.Plugin}, sc.Settings, input, h, proc, stdout, stderr)
	if err != nil {
		return nil, userError{err}
	}
	return sink{s}, nil
}

// host is the plugin host of a job's plugins.
func (p Plugins) host(env supervisor.PluginEnv) *pluginhost.Host {
	return &pluginhost.Host{Exe: p.Exe, Reaper: env.Reaper, Logger: env.Log, SocketDir: env.SocketDir}
}

// ServeMetrics serves the job's metrics over HTTP on l (package metrics:
// the Prometheus library is linked here, not in zdrun).
func (p Plugins) ServeMetrics(ctx context.Context, l net.Listener, snap func(context.Context) (manager.Snapshot, bool), log *slog.Logger) error {
	return metrics.Serve(ctx, l, snap, log)
}

// StartProber starts the prober of the start tests.
func (p Plugins) StartProber(ctx context.Context, env supervisor.PluginEnv, checks []supervisor.Check) (supervisor.Prober, error) {
	host := p.host(env)
	hc := make([]pluginhost.Check, len(checks))
	for i, c := range checks {
		hc[i] = pluginhost.Check{CheckConfig: c.CheckConfig, Files: c.Files}
	}
	pr, err := host.StartProber(ctx, hc)
	if err != nil {
		return nil, userError{err}
	}
	return pr, nil
}

// sink is a pluginhost.Sink as the supervisor sees it.
type sink struct{ *pluginhost.Sink }

func (s sink) Handover() (supervisor.SinkHandover, *os.File, *os.File, bool) {
	h, stdout, stderr, ok := s.Sink.Handover()
	if !ok {
		return supervisor.SinkHandover{}, nil, nil, false
	}
	raw, err := json.Marshal(h)
	if err != nil {
		return supervisor.SinkHandover{}, nil, nil, false
	}
	return supervisor.SinkHandover{Pid: h.Pid, Host: raw}, stdout, stderr, true
}

func (s sink) Status(ctx context.Context) (manager.SinkStatus, error) {
	st, err := s.Sink.Status(ctx)
	return manager.SinkStatus{BytesWritten: st.BytesWritten, Destination: st.Destination, Error: st.Error}, err
}

func (s sink) Drain(ctx context.Context) (string, error) {
	st, err := s.Sink.Drain(ctx)
	return st.Error, err
}

// userError is a plugin's failure with what the user reads of it: the
// plugin's own words when it refused a call (its open error names the
// file), the whole chain otherwise (which plugin, which call, what became
// of it).
type userError struct{ error }

func (e userError) Unwrap() error { return e.error }

func (e userError) UserMessage() string {
	var ce *schema.CallError
	if errors.As(e.error, &ce) && ce.Own {
		return ce.Msg
	}
	return e.Error()
}

var (
	_ supervisor.Plugins = Plugins{}
	_ supervisor.Prober  = (*pluginhost.Prober)(nil)
)
