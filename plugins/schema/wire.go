package schema

import (
	"encoding/json"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/zdaemon/zdaemon/plugins/schema/proto"
)

// The conversions below are shared by the gRPC shims of every plugin kind:
// they are the only code that turns these types into wire messages.

// ToProto encodes a schema.
func (s Schema) ToProto() *proto.SchemaResponse {
	resp := &proto.SchemaResponse{}
	for _, a := range s.Attributes {
		resp.Attributes = append(resp.Attributes, &proto.Attribute{Name: a.Name, Type: a.Type, Required: a.Required, Description: a.Description})
	}
	return resp
}

// FromProto decodes a schema.
func FromProto(resp *proto.SchemaResponse) Schema {
	var s Schema
	for _, a := range resp.GetAttributes() {
		s.Attributes = append(s.Attributes, Attribute{Name: a.GetName(), Type: a.GetType(), Required: a.GetRequired(), Description: a.GetDescription()})
	}
	return s
}

// Request encodes a configuration as the JSON object the wire carries.
func (c Config) Request() (*proto.ConfigRequest, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode plugin config: %w", err)
	}
	return &proto.ConfigRequest{ConfigJson: data}, nil
}

// FromRequest decodes a configuration.
func FromRequest(req *proto.ConfigRequest) (Config, error) {
	cfg := Config{}
	if len(req.GetConfigJson()) == 0 {
		return cfg, nil
	}
	if err := json.Unmarshal(req.GetConfigJson(), &cfg); err != nil {
		return nil, fmt.Errorf("decode plugin config: %w", err)
	}
	return cfg, nil
}

// ErrorsToProto encodes field errors.
func ErrorsToProto(errs []FieldError) *proto.ValidateResponse {
	resp := &proto.ValidateResponse{}
	for _, e := range errs {
		resp.Errors = append(resp.Errors, &proto.FieldError{Field: e.Field, Message: e.Message})
	}
	return resp
}

// ErrorsFromProto decodes field errors.
func ErrorsFromProto(resp *proto.ValidateResponse) []FieldError {
	var out []FieldError
	for _, e := range resp.GetErrors() {
		out = append(out, FieldError{Field: e.GetField(), Message: e.GetMessage()})
	}
	return out
}

// CallError is a failed call to a plugin in plain words: the error its
// method returned, in the plugin's own words, or what became of the
// plugin. The gRPC status around it is gone.
type CallError struct {
	Msg string
	// Own says Msg is the plugin's own words (its method returned an
	// error), not a sentence about what became of it.
	Own bool
}

func (e *CallError) Error() string { return e.Msg }

// FromRPC turns the error of a gRPC call to a plugin into a *CallError:
// the message of an error the plugin's method returned, or, for a plugin
// that went away, did not answer or lacks the call, a sentence saying so.
// Other errors (nil included) are returned as they are.
func FromRPC(err error) error {
	st, ok := status.FromError(err)
	if !ok || err == nil {
		return err
	}
	switch st.Code() {
	case codes.Unavailable, codes.Canceled:
		return &CallError{Msg: "it went away (it crashed or closed the connection)"}
	case codes.DeadlineExceeded:
		return &CallError{Msg: "it did not answer in time"}
	case codes.Unimplemented:
		return &CallError{Msg: "it does not implement that call"}
	}
	return &CallError{Msg: st.Message(), Own: true}
}
