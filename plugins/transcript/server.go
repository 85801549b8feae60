package transcript

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/zdaemon/zdaemon/plugins/transcript/proto"
)

// server is the plugin side: the only code that touches proto types there.
type server struct {
	proto.UnimplementedSinkServer
	impl  Sink
	input func() (*os.File, error)
}

func decodeConfig(data []byte) (Config, error) {
	cfg := Config{}
	if len(data) == 0 {
		return cfg, nil
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("decode sink config: %w", err)
	}
	return cfg, nil
}

func (s *server) Schema(ctx context.Context, _ *proto.Empty) (*proto.SchemaResponse, error) {
	sch, err := s.impl.Schema(ctx)
	if err != nil {
		return nil, err
	}
	resp := &proto.SchemaResponse{}
	for _, a := range sch.Attributes {
		resp.Attributes = append(resp.Attributes, &proto.Attribute{Name: a.Name, Type: a.Type, Required: a.Required, Description: a.Description})
	}
	return resp, nil
}

func (s *server) Validate(ctx context.Context, req *proto.ConfigRequest) (*proto.ValidateResponse, error) {
	cfg, err := decodeConfig(req.GetConfigJson())
	if err != nil {
		return &proto.ValidateResponse{Errors: []*proto.FieldError{{Message: err.Error()}}}, nil
	}
	resp := &proto.ValidateResponse{}
	for _, e := range s.impl.Validate(ctx, cfg) {
		resp.Errors = append(resp.Errors, &proto.FieldError{Field: e.Field, Message: e.Message})
	}
	return resp, nil
}

func (s *server) Start(ctx context.Context, req *proto.ConfigRequest) (*proto.Empty, error) {
	cfg, err := decodeConfig(req.GetConfigJson())
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
	return &proto.Empty{}, nil
}

func (s *server) Reopen(ctx context.Context, _ *proto.Empty) (*proto.Empty, error) {
	if err := s.impl.Reopen(ctx); err != nil {
		return nil, err
	}
	return &proto.Empty{}, nil
}

func (s *server) Status(ctx context.Context, _ *proto.Empty) (*proto.StatusResponse, error) {
	st, err := s.impl.Status(ctx)
	if err != nil {
		return nil, err
	}
	return &proto.StatusResponse{BytesWritten: st.BytesWritten, Error: st.Error, Destination: st.Destination}, nil
}

func (s *server) Drain(ctx context.Context, _ *proto.Empty) (*proto.StatusResponse, error) {
	st, err := s.impl.Drain(ctx)
	if err != nil {
		return nil, err
	}
	return &proto.StatusResponse{BytesWritten: st.BytesWritten, Error: st.Error, Destination: st.Destination}, nil
}
