package transcript

import (
	"context"
	"fmt"
	"os"

	"github.com/zdaemon/zdaemon/plugins/schema"
	schemapb "github.com/zdaemon/zdaemon/plugins/schema/proto"
	"github.com/zdaemon/zdaemon/plugins/transcript/proto"
)

// server is the plugin side: with plugins/schema's base server and
// conversions, the only code that touches wire types there.
type server struct {
	proto.UnimplementedSinkServer
	base  *schema.Server
	impl  Sink
	input func() (*os.File, error)
}

// Schema and Validate answer hosts of protocol version 1 through the base
// service's code.
func (s *server) Schema(ctx context.Context, e *schemapb.Empty) (*schemapb.SchemaResponse, error) {
	return s.base.Schema(ctx, e)
}

func (s *server) Validate(ctx context.Context, req *schemapb.ConfigRequest) (*schemapb.ValidateResponse, error) {
	return s.base.Validate(ctx, req)
}

func (s *server) Start(ctx context.Context, req *schemapb.ConfigRequest) (*schemapb.Empty, error) {
	cfg, err := schema.FromRequest(req)
	if err != nil {
		return nil, err
	}
	in, err := s.input()
	if err != nil {
		return nil, fmt.Errorf("open transcript input: %w", err)
	}
	if in == nil {
		return nil, fmt.Errorf("no transcript input on fd %d", InputFD)
	}
	// The RPC's ctx ends with the call; the copy outlives it.
	if err := s.impl.Start(context.WithoutCancel(ctx), cfg, in); err != nil {
		return nil, err
	}
	return &schemapb.Empty{}, nil
}

func (s *server) Reopen(ctx context.Context, _ *schemapb.Empty) (*schemapb.Empty, error) {
	if err := s.impl.Reopen(ctx); err != nil {
		return nil, err
	}
	return &schemapb.Empty{}, nil
}

func (s *server) Status(ctx context.Context, _ *schemapb.Empty) (*proto.StatusResponse, error) {
	st, err := s.impl.Status(ctx)
	if err != nil {
		return nil, err
	}
	return statusToProto(st), nil
}

func (s *server) Drain(ctx context.Context, _ *schemapb.Empty) (*proto.StatusResponse, error) {
	st, err := s.impl.Drain(ctx)
	if err != nil {
		return nil, err
	}
	return statusToProto(st), nil
}
