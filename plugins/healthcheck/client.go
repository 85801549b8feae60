package healthcheck

import (
	"context"
	"fmt"

	"github.com/zdaemon/zdaemon/plugins/healthcheck/proto"
	"github.com/zdaemon/zdaemon/plugins/schema"
	schemapb "github.com/zdaemon/zdaemon/plugins/schema/proto"
)

// client is the host side: with plugins/schema's conversions, the only
// host code touching wire types.
type client struct{ c proto.CheckerClient }

func (c *client) Schema(ctx context.Context) (Schema, error) {
	resp, err := c.c.Schema(ctx, &schemapb.Empty{})
	if err != nil {
		return Schema{}, fmt.Errorf("check schema: %w", schema.FromRPC(err))
	}
	return schema.FromProto(resp), nil
}

func (c *client) Validate(ctx context.Context, cfg Config) []FieldError {
	req, err := cfg.Request()
	if err != nil {
		return []FieldError{{Message: err.Error()}}
	}
	resp, err := c.c.Validate(ctx, req)
	if err != nil {
		return []FieldError{{Message: fmt.Sprintf("check validate: %v", schema.FromRPC(err))}}
	}
	return schema.ErrorsFromProto(resp)
}

func (c *client) Configure(ctx context.Context, cfg Config) error {
	req, err := cfg.Request()
	if err != nil {
		return err
	}
	if _, err := c.c.Configure(ctx, req); err != nil {
		return fmt.Errorf("check configure: %w", schema.FromRPC(err))
	}
	return nil
}

func (c *client) Check(ctx context.Context, req Request) (Result, error) {
	resp, err := c.c.Check(ctx, &proto.CheckRequest{Pid: int64(req.Pid), StartedUnixNano: req.Started.UnixNano()})
	if err != nil {
		return Result{}, fmt.Errorf("check: %w", schema.FromRPC(err))
	}
	return Result{Healthy: resp.GetHealthy(), Message: resp.GetMessage()}, nil
}
