package transcript

import (
	"context"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/zdaemon/zdaemon/plugins/schema"
	"github.com/zdaemon/zdaemon/plugins/transcript/proto"
)

// ProtocolVersion is the current protocol version (see the package doc).
// Serve serves every version from 1 on, so a host of any version finds one
// it speaks; a host picks the newest the plugin serves.
const ProtocolVersion = 2

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
// ClientConfig.VersionedPlugins: every protocol version from 1 to
// ProtocolVersion.
func PluginSets(impl Sink) map[int]plugin.PluginSet {
	sets := map[int]plugin.PluginSet{}
	for v := 1; v <= ProtocolVersion; v++ {
		sets[v] = plugin.PluginSet{PluginName: &Plugin{Impl: impl, Version: v}}
	}
	return sets
}

// Plugin is the go-plugin glue of a sink. Impl is set on the plugin side.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Sink
	// Input opens the output pipe on the plugin side; nil means InputFD.
	Input func() (*os.File, error)
	// Version is the protocol version spoken; 0 means ProtocolVersion.
	Version int
}

func (p *Plugin) version() int {
	if p.Version == 0 {
		return ProtocolVersion
	}
	return p.Version
}

// GRPCServer registers the sink service, and from version 2 on the base
// service (schema, validate) beside it. The sink service keeps its own
// Schema and Validate calls in every version, so that hosts of version 1
// find them.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	input := p.Input
	if input == nil {
		input = func() (*os.File, error) { return os.NewFile(InputFD, "transcript-input"), nil }
	}
	proto.RegisterSinkServer(s, &server{base: schema.NewServer(p.Impl), impl: p.Impl, input: input})
	if p.version() >= 2 {
		schema.Register(s, p.Impl)
	}
	return nil
}

// GRPCClient returns the host-side Sink. Its calls end when the plugin
// process does (done is go-plugin's context for that). A version-1 plugin
// is asked for its schema through its sink service, a newer one through
// the base service.
func (p *Plugin) GRPCClient(done context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	rpc := proto.NewSinkClient(c)
	base := schema.NewV1Client(rpc, done)
	if p.version() >= 2 {
		base = schema.NewClient(c, done)
	}
	return &client{Client: base, c: rpc, done: done}, nil
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
