package transcript

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/zdaemon/zdaemon/plugins/transcript/proto"
)

// client is the host side of a sink: the only code that touches proto
// types on that side.
type client struct {
	c proto.SinkClient
}

func (c *client) Schema(ctx context.Context) (Schema, error) {
	resp, err := c.c.Schema(ctx, &proto.Empty{})
	if err != nil {
		return Schema{}, fmt.Errorf("sink schema: %w", err)
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
		return []FieldError{{Message: fmt.Sprintf("sink validate: %v", err)}}
	}
	var out []FieldError
	for _, e := range resp.GetErrors() {
		out = append(out, FieldError{Field: e.GetField(), Message: e.GetMessage()})
	}
	return out
}

// Start sends the configuration; in is unused on this side (the plugin
// process reads its inherited descriptor).
func (c *client) Start(ctx context.Context, cfg Config, _ io.Reader) error {
	data, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode sink config: %w", err)
	}
	if _, err := c.c.Start(ctx, &proto.ConfigRequest{ConfigJson: data}); err != nil {
		return fmt.Errorf("sink start: %w", err)
	}
	return nil
}

func (c *client) Reopen(ctx context.Context) error {
	if _, err := c.c.Reopen(ctx, &proto.Empty{}); err != nil {
		return fmt.Errorf("sink reopen: %w", err)
	}
	return nil
}

func (c *client) Status(ctx context.Context) (Status, error) {
	resp, err := c.c.Status(ctx, &proto.Empty{})
	if err != nil {
		return Status{}, fmt.Errorf("sink status: %w", err)
	}
	return statusFromProto(resp), nil
}

func (c *client) Drain(ctx context.Context) (Status, error) {
	resp, err := c.c.Drain(ctx, &proto.Empty{})
	if err != nil {
		return Status{}, fmt.Errorf("sink drain: %w", err)
	}
	return statusFromProto(resp), nil
}

func statusFromProto(r *proto.StatusResponse) Status {
	return Status{BytesWritten: r.GetBytesWritten(), Error: r.GetError(), Destination: r.GetDestination()}
}
