package healthcheck

import (
	"testing"

	"github.com/hashicorp/go-plugin"
)

// TestChecker connects to impl over a real in-process gRPC connection, as
// a host would, and returns the host-side Checker.
func TestChecker(t testing.TB, impl Checker) Checker {
	t.Helper()
	return TestCheckerVersion(t, impl, ProtocolVersion)
}

// TestCheckerVersion is TestChecker speaking protocol version (1 or 2) on
// both sides.
func TestCheckerVersion(t testing.TB, impl Checker, version int) Checker {
	t.Helper()
	c, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{PluginName: &Plugin{Impl: impl, Version: version}})
	t.Cleanup(func() { c.Close() })
	raw, err := c.Dispense(PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(Checker)
}
