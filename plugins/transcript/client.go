package transcript

import (
	"context"
	"fmt"
	"io"

	"github.com/zdaemon/zdaemon/plugins/schema"
	schemapb "github.com/zdaemon/zdaemon/plugins/schema/proto"
	"github.com/zdaemon/zdaemon/plugins/transcript/proto"
)

// client is the host side of a sink: with plugins/schema's conversions,
// the only code that touches wire types on that side.
type client struct {
	c proto.SinkClient
}

func (c *client) Schema(ctx context.Context) (Schema, error) {
	resp, err := c.c.Schema(ctx, &schemapb.Empty{})
	if err != nil {
		return Schema{}, fmt.Errorf("sink schema: %w", schema.FromRPC(err))
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
		return []FieldError{{Message: fmt.Sprintf("sink validate: %v", schema.FromRPC(err))}}
	}
	return schema.ErrorsFromProto(resp)
}

// Start sends the configuration; in is unused on this side (the plugin
// process reads its inherited descriptor).
func (c *client) Start(ctx context.Context, cfg Config, _ io.Reader) error {
	req, err := cfg.Request()
	if err != nil {
		return err
	}
	if _, err := c.c.Start(ctx, req); err != nil {
		return fmt.Errorf("sink start: %w", schema.FromRPC(err))
	}
	return nil
}

func (c *client) Reopen(ctx context.Context) error {
	if _, err := c.c.Reopen(ctx, &schemapb.Empty{}); err != nil {
		return fmt.Errorf("sink reopen: %w", schema.FromRPC(err))
	}
	return nil
}

func (c *client) Status(ctx context.Context) (Status, error) {
	resp, err := c.c.Status(ctx, &schemapb.Empty{})
	if err != nil {
		return Status{}, fmt.Errorf("sink status: %w", schema.FromRPC(err))
	}
	return statusFromProto(resp), nil
}

func (c *client) Drain(ctx context.Context) (Status, error) {
	resp, err := c.c.Drain(ctx, &schemapb.Empty{})
	if err != nil {
		return Status{}, fmt.Errorf("sink drain: %w", schema.FromRPC(err))
	}
	return statusFromProto(resp), nil
}

func statusFromProto(r *proto.StatusResponse) Status {
	return Status{BytesWritten: r.GetBytesWritten(), Error: r.GetError(), Destination: r.GetDestination()}
}

func statusToProto(s Status) *proto.StatusResponse {
	return &proto.StatusResponse{BytesWritten: s.BytesWritten, Error: s.Error, Destination: s.Destination}
}
