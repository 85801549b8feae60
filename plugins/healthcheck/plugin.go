package healthcheck

import (
	"context"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/zdaemon/zdaemon/plugins/healthcheck/proto"
	"github.com/zdaemon/zdaemon/plugins/schema"
)

// ProtocolVersion is the current protocol version (see the package doc).
// Serve serves every version from 1 on; a host picks the newest the
// plugin serves.
const ProtocolVersion = 2

// Handshake identifies health-check plugins; its cookie is specific to
// this kind.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "ZDAEMON_HEALTHCHECK_PLUGIN",
	MagicCookieValue: "8d41b7c3-healthcheck",
}

// PluginName is the name a checker is dispensed under.
const PluginName = "checker"

// PluginSets are the versioned plugin sets: every protocol version from 1
// to ProtocolVersion.
func PluginSets(impl Checker) map[int]plugin.PluginSet {
	sets := map[int]plugin.PluginSet{}
	for v := 1; v <= ProtocolVersion; v++ {
		sets[v] = plugin.PluginSet{PluginName: &Plugin{Impl: impl, Version: v}}
	}
	return sets
}

// Plugin is the go-plugin glue of a checker.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Checker
	// Version is the protocol version spoken; 0 means ProtocolVersion.
	Version int
}

func (p *Plugin) version() int {
	if p.Version == 0 {
		return ProtocolVersion
	}
	return p.Version
}

// GRPCServer registers the checker service, and from version 2 on the
// base service (schema, validate) beside it; the checker service keeps
// its Schema and Validate for hosts of version 1.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	proto.RegisterCheckerServer(s, &server{base: schema.NewServer(p.Impl), impl: p.Impl})
	if p.version() >= 2 {
		schema.Register(s, p.Impl)
	}
	return nil
}

// GRPCClient returns the host-side Checker; its calls end when the plugin
// process does (done).
func (p *Plugin) GRPCClient(done context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	rpc := proto.NewCheckerClient(c)
	base := schema.NewV1Client(rpc, done)
	if p.version() >= 2 {
		base = schema.NewClient(c, done)
	}
	return &client{Client: base, c: rpc, done: done}, nil
}

// Serve runs impl as a health-check plugin; it is the whole main of a
// plugin. Plugins must not write to stdout: log through logger.
func Serve(impl Checker, logger hclog.Logger) {
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Info})
	}
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
	_ Checker           = (*client)(nil)
)
