package schema

import (
	"context"
	"errors"

	"google.golang.org/grpc"

	"github.com/zdaemon/zdaemon/plugins/schema/proto"
)

// Base is what every plugin kind answers about its configuration; each
// kind's interface embeds it.
type Base interface {
	// Schema declares the configuration the plugin accepts.
	Schema(ctx context.Context) (Schema, error)
	// Validate checks a configuration; each problem names its field.
	Validate(ctx context.Context, cfg Config) []FieldError
}

// Server is the plugin side of the base service. A kind's version-1
// service, which has the same two calls, forwards them here.
type Server struct {
	proto.UnimplementedBaseServer
	impl Base
}

// NewServer serves impl's base calls.
func NewServer(impl Base) *Server { return &Server{impl: impl} }

// Register adds the base service for impl to a plugin's gRPC server.
func Register(s *grpc.Server, impl Base) {
	proto.RegisterBaseServer(s, NewServer(impl))
}

// Schema answers the Schema call.
func (s *Server) Schema(ctx context.Context, _ *proto.Empty) (*proto.SchemaResponse, error) {
	sch, err := s.impl.Schema(ctx)
	if err != nil {
		return nil, err
	}
	return sch.ToProto(), nil
}

// Validate answers the Validate call.
func (s *Server) Validate(ctx context.Context, req *proto.ConfigRequest) (*proto.ValidateResponse, error) {
	cfg, err := FromRequest(req)
	if err != nil {
		return ErrorsToProto([]FieldError{{Message: err.Error()}}), nil
	}
	return ErrorsToProto(s.impl.Validate(ctx, cfg)), nil
}

// Client is the host side of the base service. Its calls end when the
// plugin's process does (the done context go-plugin hands GRPCClient).
type Client struct {
	rpc  proto.BaseClient
	done context.Context
}

// NewClient calls the base service over conn; done ends with the plugin.
func NewClient(conn grpc.ClientConnInterface, done context.Context) *Client {
	return &Client{rpc: proto.NewBaseClient(conn), done: done}
}

// NewV1Client makes the same calls through a kind's version-1 service,
// whose generated client has the base calls' signatures.
func NewV1Client(rpc proto.BaseClient, done context.Context) *Client {
	return &Client{rpc: rpc, done: done}
}

// Schema asks for the plugin's schema.
func (c *Client) Schema(ctx context.Context) (Schema, error) {
	ctx, cancel := WithDone(ctx, c.done)
	defer cancel()
	resp, err := c.rpc.Schema(ctx, &proto.Empty{})
	if err != nil {
		return Schema{}, FromRPC(err)
	}
	return FromProto(resp), nil
}

// Validate asks the plugin to check cfg. A failed call is one error
// without a field, in plain words.
func (c *Client) Validate(ctx context.Context, cfg Config) []FieldError {
	req, err := cfg.Request()
	if err != nil {
		return []FieldError{{Message: err.Error()}}
	}
	ctx, cancel := WithDone(ctx, c.done)
	defer cancel()
	resp, err := c.rpc.Validate(ctx, req)
	if err != nil {
		return []FieldError{{Message: "validation failed: " + FromRPC(err).Error()}}
	}
	return ErrorsFromProto(resp)
}

// ErrPluginExited is the cause of a call's context when the plugin's
// process ended during the call.
var ErrPluginExited = errors.New("the plugin's process ended")

// WithDone bounds a call's ctx by done, the context go-plugin ends when
// the plugin's process exits, so no call outlives its plugin. A nil done
// (an in-process test connection) bounds nothing.
func WithDone(ctx, done context.Context) (context.Context, context.CancelFunc) {
	if done == nil {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(done, func() { cancel(ErrPluginExited) })
	return ctx, func() { stop(); cancel(context.Canceled) }
}
