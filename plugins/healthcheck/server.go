package healthcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/zdaemon/zdaemon/plugins/healthcheck/proto"
)

// server is the plugin side; the only plugin code touching proto types.
type server struct {
	proto.UnimplementedCheckerServer
	impl Checker
}

func decodeConfig(data []byte) (Config, error) {
	cfg := Config{}
	if len(data) == 0 {
		return cfg, nil
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("decode check config: %w", err)
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

func (s *server) Configure(ctx context.Context, req *proto.ConfigRequest) (*proto.Empty, error) {
	cfg, err := decodeConfig(req.GetConfigJson())
	if err != nil {
		return nil, err
	}
	if err := s.impl.Configure(ctx, cfg); err != nil {
		return nil, err
	}
	return &proto.Empty{}, nil
}

func (s *server) Check(ctx context.Context, req *proto.CheckRequest) (*proto.CheckResponse, error) {
	res, err := s.impl.Check(ctx, Request{Pid: int(req.GetPid()), Started: time.Unix(0, req.GetStartedUnixNano())})
	if err != nil {
		return nil, err
	}
	return &proto.CheckResponse{Healthy: res.Healthy, Message: res.Message}, nil
}
