package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/manager"
)

// Plugins starts a job's plugins: its transcript sink and its start
// tests. The supervisor links no plugin stack itself (no go-plugin, gRPC
// or protobuf), so that a manager of a job without plugins stays small:
// zdrun runs with none, and hands a job that needs them (daemon.NeedsPlugins)
// to zdrun-plugins, whose Plugins is package jobplugins.
type Plugins interface {
	// StartSink starts the sink sc on input, the read end of the output
	// pipe, which the caller keeps open, and keeps it running.
	StartSink(ctx context.Context, env PluginEnv, sc config.PluginConfig, input *os.File) (Sink, error)
	// AdoptSink re-attaches to the sink a previous manager handed over
	// (st; proc is its process, adopted by the reaper; stdout and stderr
	// the read ends of its output) and keeps it running as StartSink does.
	AdoptSink(env PluginEnv, sc config.PluginConfig, input *os.File, st SinkHandover, proc *child.Process, stdout, stderr *os.File) (Sink, error)
	// StartProber starts the prober of the start tests.
	StartProber(ctx context.Context, env PluginEnv, checks []Check) (Prober, error)
	// ServeMetrics answers HTTP scrapes of /metrics on l until ctx ends,
	// with the snapshots snap takes.
	ServeMetrics(ctx context.Context, l net.Listener, snap func(context.Context) (manager.Snapshot, bool), log *slog.Logger) error
}

// PluginEnv is what a job's plugins run with.
type PluginEnv struct {
	// Reaper starts (and adopts) the plugin processes.
	Reaper *child.Reaper
	// Log is the job's event log.
	Log *slog.Logger
	// SocketDir is the job's plugin socket directory (see pluginDir),
	// where the plugins' gRPC sockets go.
	SocketDir string
}

// Sink is a running transcript sink.
type Sink interface {
	// Reopen reopens the sink's file (reopen_transcript).
	Reopen(ctx context.Context) error
	// Drain waits until the sink has written everything (every writer of
	// the pipe closed first); writeErr is a write error the sink is still
	// retrying, "" when healthy.
	Drain(ctx context.Context) (writeErr string, err error)
	// Status is the sink's report; BytesWritten counts across its
	// restarts.
	Status(ctx context.Context) (manager.SinkStatus, error)
	// Info describes the sink's process for "show".
	Info() string
	// Pids are the sink's process (group) ids.
	Pids() []int
	// Restarts is how often the sink was started again.
	Restarts() int
	// Handover is the running sink for the next manager (an upgrade);
	// ok is false when none runs (it is being restarted).
	Handover() (st SinkHandover, stdout, stderr *os.File, ok bool)
	// Close stops the sink.
	Close()
}

// SinkHandover is a running sink as an upgrading manager hands it over:
// its process, and the plugin host's record of it (for go-plugin's
// reattach), which only the plugin host reads.
type SinkHandover struct {
	Pid  int             `json:"pid"`
	Host json.RawMessage `json:"host"`
}

// Prober runs the start tests.
type Prober interface {
	manager.Prober
	manager.Liveness
	// Info describes the check processes for "show".
	Info() []string
	// Pids are the check processes' (group) ids.
	Pids() []int
	// Suspend kills the check plugins before an upgrade (the next
	// manager starts its own); a try afterwards starts them again.
	Suspend()
	// Close stops the checks.
	Close()
}

// Check is one start test and the descriptors its process inherits (3...).
type Check struct {
	config.CheckConfig
	Files []*os.File
}

// errNoPlugins is a job with plugins given to a manager without them.
var errNoPlugins = errors.New("this job has plugins (a transcript sink, start tests or a metrics endpoint), and this manager executable runs none: run it with zdrun-plugins")

// pluginMessage is what the user reads of a plugin's failure: the
// plugin's own words when it gave them (an error with a UserMessage
// method), the whole chain otherwise.
func pluginMessage(err error) string {
	var um interface{ UserMessage() string }
	if errors.As(err, &um) {
		return um.UserMessage()
	}
	return err.Error()
}
