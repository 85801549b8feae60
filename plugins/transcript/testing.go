package transcript

import (
	"os"
	"testing"

	"github.com/hashicorp/go-plugin"
)

// TestSink connects to impl over a real in-process gRPC connection, as a
// host would, with input as the sink's input pipe. It returns the
// host-side Sink; the connection is closed when the test ends.
func TestSink(t testing.TB, impl Sink, input *os.File) Sink {
	t.Helper()
	return TestSinkVersion(t, impl, input, ProtocolVersion)
}

// TestSinkVersion is TestSink speaking protocol version (1 or 2) on both
// sides.
func TestSinkVersion(t testing.TB, impl Sink, input *os.File, version int) Sink {
	t.Helper()
	p := &Plugin{Impl: impl, Input: func() (*os.File, error) { return input, nil }, Version: version}
	c, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{PluginName: p})
	t.Cleanup(func() { c.Close() })
	raw, err := c.Dispense(PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(Sink)
}
