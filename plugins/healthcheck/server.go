package healthcheck

import (
	"context"
	"time"

	"github.com/zdaemon/zdaemon/plugins/healthcheck/proto"
	"github.com/zdaemon/zdaemon/plugins/schema"
	schemapb "github.com/zdaemon/zdaemon/plugins/schema/proto"
)

// server is the plugin side: with plugins/schema's base server and
// conversions, the only plugin code touching wire types.
type server struct {
	proto.UnimplementedCheckerServer
	base *schema.Server
	impl Checker
}

// Schema and Validate answer hosts of protocol version 1 through the base
// service's code.
func (s *server) Schema(ctx context.Context, e *schemapb.Empty) (*schemapb.SchemaResponse, error) {
	return s.base.Schema(ctx, e)
}

func (s *server) Validate(ctx context.Context, req *schemapb.ConfigRequest) (*schemapb.ValidateResponse, error) {
	return s.base.Validate(ctx, req)
}

func (s *server) Configure(ctx context.Context, req *schemapb.ConfigRequest) (*schemapb.Empty, error) {
	cfg, err := schema.FromRequest(req)
	if err != nil {
		return nil, err
	}
	if err := s.impl.Configure(ctx, cfg); err != nil {
		return nil, err
	}
	return &schemapb.Empty{}, nil
}

func (s *server) Check(ctx context.Context, req *proto.CheckRequest) (*proto.CheckResponse, error) {
	res, err := s.impl.Check(ctx, Request{Pid: int(req.GetPid()), Started: time.Unix(0, req.GetStartedUnixNano())})
	if err != nil {
		return nil, err
	}
	return &proto.CheckResponse{Healthy: res.Healthy, Message: res.Message}, nil
}
