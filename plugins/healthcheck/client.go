package healthcheck

import (
	"context"
	"fmt"

	"github.com/zdaemon/zdaemon/plugins/healthcheck/proto"
	"github.com/zdaemon/zdaemon/plugins/schema"
)

// client is the host side: with plugins/schema's base client and
// conversions, the only host code touching wire types. Every call ends
// when the plugin process does (done), and its error is in plain words.
type client struct {
	*schema.Client // Schema, Validate
	c              proto.CheckerClient
	done           context.Context
}

func (c *client) Configure(ctx context.Context, cfg Config) error {
	req, err := cfg.Request()
	if err != nil {
		return err
	}
	ctx, cancel := schema.WithDone(ctx, c.done)
	defer cancel()
	if _, err := c.c.Configure(ctx, req); err != nil {
		return fmt.Errorf("check configure: %w", schema.FromRPC(err))
	}
	return nil
}

func (c *client) Check(ctx context.Context, req Request) (Result, error) {
	ctx, cancel := schema.WithDone(ctx, c.done)
	defer cancel()
	resp, err := c.c.Check(ctx, &proto.CheckRequest{Pid: int64(req.Pid), StartedUnixNano: req.Started.UnixNano()})
	if err != nil {
		return Result{}, fmt.Errorf("check: %w", schema.FromRPC(err))
	}
	return Result{Healthy: resp.GetHealthy(), Message: resp.GetMessage()}, nil
}
