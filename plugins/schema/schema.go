// Package schema holds the configuration types every plugin contract
// shares: a plugin declares the attributes of its job-file block (Schema),
// receives their evaluated values (Config) and names the attribute it
// rejects (FieldError). zdaemon decodes and type-checks the block against
// the schema, so errors point at the attribute's file:line:column.
//
// It also provides the base service every plugin kind embeds (Base, as
// Nomad's plugins/base): its gRPC server and client are the only code that
// carries these types over the wire.
//
// The generated code in proto/ is committed; regenerate it with go generate.
package schema

//go:generate protoc -I ../.. --go_out=../.. --go_opt=paths=source_relative --go-grpc_out=../.. --go-grpc_opt=paths=source_relative plugins/schema/proto/schema.proto

// Schema lists the attributes of a plugin's job-file block.
type Schema struct {
	Attributes []Attribute
}

// Attribute types.
const (
	TypeString = "string"
	TypeNumber = "number"
	TypeBool   = "bool"
)

// Attribute is one configuration attribute.
type Attribute struct {
	Name        string
	Type        string // TypeString, TypeNumber or TypeBool
	Required    bool
	Description string
}

// Config is a plugin's configuration: plain values (string, float64, bool)
// by attribute name, evaluated and type-checked by the host.
type Config map[string]any

// String returns a string attribute, or def.
func (c Config) String(name, def string) string {
	if v, ok := c[name].(string); ok {
		return v
	}
	return def
}

// Number returns a number attribute, or def.
func (c Config) Number(name string, def float64) float64 {
	if v, ok := c[name].(float64); ok {
		return v
	}
	return def
}

// Bool returns a bool attribute, or def.
func (c Config) Bool(name string, def bool) bool {
	if v, ok := c[name].(bool); ok {
		return v
	}
	return def
}

// FieldError is a rejected configuration value.
type FieldError struct {
	Field   string
	Message string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }
