package transcript

import (
	"context"
	"fmt"
	"io"

	"github.com/zdaemon/zdaemon/plugins/schema"
	schemapb "github.com/zdaemon/zdaemon/plugins/schema/proto"
	"github.com/zdaemon/zdaemon/plugins/transcript/proto"
)

// client is the host side of a sink: with plugins/schema's base client
// and conversions, the only code that touches wire types on that side.
// Every call ends when the plugin process does (done), and its error is
// in plain words (schema.FromRPC).
type client struct {
	*schema.Client // Schema, Validate
	c              proto.SinkClient
	done           context.Context
}

// Start sends the configuration; in is unused on this side (the plugin
// process reads its inherited descriptor).
func (c *client) Start(ctx context.Context, cfg Config, _ io.Reader) error {
	req, err := cfg.Request()
	if err != nil {
		return err
	}
	ctx, cancel := schema.WithDone(ctx, c.done)
	defer cancel()
	if _, err := c.c.Start(ctx, req); err != nil {
		return fmt.Errorf("sink start: %w", schema.FromRPC(err))
	}
	return nil
}

func (c *client) Reopen(ctx context.Context) error {
	ctx, cancel := schema.WithDone(ctx, c.done)
	defer cancel()
	if _, err := c.c.Reopen(ctx, &schemapb.Empty{}); err != nil {
		return fmt.Errorf("sink reopen: %w", schema.FromRPC(err))
	}
	return nil
}

func (c *client) Status(ctx context.Context) (Status, error) {
	ctx, cancel := schema.WithDone(ctx, c.done)
	defer cancel()
	resp, err := c.c.Status(ctx, &schemapb.Empty{})
	if err != nil {
		return Status{}, fmt.Errorf("sink status: %w", schema.FromRPC(err))
	}
	return statusFromProto(resp), nil
}

func (c *client) Drain(ctx context.Context) (Status, error) {
	ctx, cancel := schema.WithDone(ctx, c.done)
	defer cancel()
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
