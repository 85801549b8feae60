package healthcheck

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/zdaemon/zdaemon/plugins/healthcheck/proto"
)

// client is the host side; the only host code touching proto types.
type client struct{ c proto.CheckerClient }

func (c *client) Schema(ctx context.Context) (Schema, error) {
	resp, err := c.c.Schema(ctx, &proto.Empty{})
	if err != nil {
		return Schema{}, fmt.Errorf("check schema: %w", err)
	}
	var s Schema
	for _, a := range resp.GetAttributes() {
		s.Attributes = append(s.Attributes, Attribute{Name: a.GetName(), Type: a.GetType(), Required: a.GetRequired(), Description: a.GetDescription()})
	}
	return s, nil
}

func (c *client) Validate(ctx context.Context, cfg Config) []FieldError {
	data, err := json.Marshal(cfg)
	if err != nil {
		return []FieldError{{Message: err.Error()}}
	}
	resp, err := c.c.Validate(ctx, &proto.ConfigRequest{ConfigJson: data})
	if err != nil {
		return []FieldError{{Message: fmt.Sprintf("check validate: %v", err)}}
	}
	var out []FieldError
	for _, e := range resp.GetErrors() {
		out = append(out, FieldError{Field: e.GetField(), Message: e.GetMessage()})
	}
	return out
}

func (c *client) Configure(ctx context.Context, cfg Config) error {
	data, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode check config: %w", err)
	}
	if _, err := c.c.Configure(ctx, &proto.ConfigRequest{ConfigJson: data}); err != nil {
		return fmt.Errorf("check configure: %w", err)
	}
	return nil
}

func (c *client) Check(ctx context.Context, req Request) (Result, error) {
	resp, err := c.c.Check(ctx, &proto.CheckRequest{Pid: int64(req.Pid), StartedUnixNano: req.Started.UnixNano()})
	if err != nil {
		return Result{}, fmt.Errorf("check: %w", err)
	}
	return Result{Healthy: resp.GetHealthy(), Message: resp.GetMessage()}, nil
}
