package transcript

import (
	"context"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/zdaemon/zdaemon/plugins/transcript/proto"
)

// ProtocolVersion is the current protocol version (see the package doc).
const ProtocolVersion = 1

// Handshake identifies transcript-sink plugins. The cookie is specific to
// this kind, so a health-check plugin can never be mistaken for a sink.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "ZDAEMON_TRANSCRIPT_PLUGIN",
	MagicCookieValue: "2f6c1a0e-transcript-sink",
}

// PluginName is the name a sink is dispensed under.
const PluginName = "sink"

// PluginSets are the versioned plugin sets, for ServeConfig and
// ClientConfig.VersionedPlugins.
func PluginSets(impl Sink) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		1: {PluginName: &Plugin{Impl: impl}},
	}
}

// Plugin is the go-plugin glue of a sink. Impl is set on the plugin side.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Sink
	// Input opens the output pipe on the plugin side; nil means InputFD.
	Input func() (*os.File, error)
}

// GRPCServer registers the sink service.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	input := p.Input
	if input == nil {
		input = func() (*os.File, error) { return os.NewFile(InputFD, "transcript-input"), nil }
	}
	proto.RegisterSinkServer(s, &server{impl: p.Impl, input: input})
	return nil
}

// GRPCClient returns the host-side Sink.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &client{c: proto.NewSinkClient(c)}, nil
}

// DrainTimeout bounds how long a sink goes on after its manager died while something still holds the pipe's write end open
// (a descendant of the program that outlived it) or writes fail.
const DrainTimeout = 10 * time.Second

// Serve runs impl as a sink plugin. It is the whole main of a plugin;
// logger may be nil. Plugins must not write to stdout: log through logger
// (its output reaches the manager's event log).
//
// SIGTERM, which the manager sends as its parent-death signal, makes the
// sink write everything up to the end of the pipe (Drain, at most
// DrainTimeout) and exit: a manager killed with SIGKILL loses no output.
// While the manager lives, SIGTERM is ignored (the manager stops its sink).
func Serve(impl Sink, logger hclog.Logger) {
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Info})
	}
	finishOnTerm(impl, logger)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: PluginSets(impl),
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger:           logger,
	})
}

// Interface guards.
var (
	_ plugin.GRPCPlugin = (*Plugin)(nil)
	_ Sink              = (*client)(nil)
)
