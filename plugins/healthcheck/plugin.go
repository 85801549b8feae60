package healthcheck

import (
	"context"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/zdaemon/zdaemon/plugins/healthcheck/proto"
)

// ProtocolVersion is the current protocol version (see the package doc).
const ProtocolVersion = 1

// Handshake identifies health-check plugins; its cookie is specific to
// this kind.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "ZDAEMON_HEALTHCHECK_PLUGIN",
	MagicCookieValue: "8d41b7c3-healthcheck",
}

// PluginName is the name a checker is dispensed under.
const PluginName = "checker"

// PluginSets are the versioned plugin sets.
func PluginSets(impl Checker) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{1: {PluginName: &Plugin{Impl: impl}}}
}

// Plugin is the go-plugin glue of a checker.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Checker
}

// GRPCServer registers the checker service.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	proto.RegisterCheckerServer(s, &server{impl: p.Impl})
	return nil
}

// GRPCClient returns the host-side Checker.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &client{c: proto.NewCheckerClient(c)}, nil
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
