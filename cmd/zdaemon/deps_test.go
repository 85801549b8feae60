package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The client is lean: it links no plugin contracts, RPC or HTTP stack
// (their package inits were most of a status command's time). They belong
// to the manager executable, cmd/zdrun.
func TestClientLinksNoPluginStack(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []struct{ path, why string }{
		{"github.com/hashicorp/go-plugin", "go-plugin"},
		{"google.golang.org/grpc", "gRPC"},
		{"google.golang.org/protobuf", "protobuf"},
		{"github.com/golang/protobuf", "protobuf"},
		{"net/http", "net/http"},
		{"crypto/tls", "TLS"},
		{"github.com/zdaemon/zdaemon/core/pluginhost", "the plugin host"},
		{"github.com/zdaemon/zdaemon/core/supervisor", "the manager"},
		// The client decodes the manager's JSON replies with core/report's
		// types.
		{"github.com/zdaemon/zdaemon/core/manager", "the manager's state machine"},
		{"github.com/zdaemon/zdaemon/core/backoff", "the manager's back-off"},
		// It checks log formats with core/logformat and finds the program
		// with core/resolve.
		{"github.com/zdaemon/zdaemon/core/eventlog", "the manager's event log"},
		{"github.com/zdaemon/zdaemon/core/child", "the manager's process starter and reaper"},
		{"github.com/zdaemon/zdaemon/plugins/", "the plugin contracts"},
		// mitchellh/cli from v1.1.1 on gives help templates sprig's
		// functions, whose inits (crypto, semver, uuid) cost every client
		// command 4.2 ms here; go.mod keeps it at v1.1.0.
		{"github.com/Masterminds/sprig/v3", "sprig (mitchellh/cli newer than v1.1.0)"},
		{"crypto/sha256", "crypto (sprig's, through mitchellh/cli)"},
		// hclwrite links go-cmp, whose inits (a regexp compiled in
		// cmp/internal/function) cost every client command 1.4 ms here;
		// core/zconfig writes its HCL itself.
		{"github.com/hashicorp/hcl/v2/hclwrite", "hclwrite (core/zconfig writes HCL itself)"},
		{"github.com/google/go-cmp/", "go-cmp (hclwrite's)"},
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if pkg == f.path || strings.HasPrefix(pkg, strings.TrimSuffix(f.path, "/")+"/") {
				t.Errorf("the client links %s (%s)", pkg, f.why)
			}
		}
	}
}

// The manager of a job without plugins is lean too: zdrun links no plugin
// stack (its inits and their pages were most of an idle manager's
// memory); zdrun-plugins, which it becomes for a job with plugins, does.
func TestManagerLinksNoPluginStack(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../zdrun").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{
		"github.com/hashicorp/go-plugin", "google.golang.org/grpc", "google.golang.org/protobuf",
		"net/http", "crypto/tls", "github.com/zdaemon/zdaemon/core/pluginhost",
		"github.com/zdaemon/zdaemon/core/jobplugins", "github.com/zdaemon/zdaemon/plugins",
		// crypto's inits and FIPS self-checks: 264 KB of zdrun for a
		// directory name (core/supervisor hashes it with FNV).
		"crypto/sha256", "crypto/internal/fips140",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if pkg == f || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("zdrun links %s", pkg)
			}
		}
	}
}

// No manager executable links HCL or cty: the manager receives the job's
// configuration as JSON (core/config's types); job files are the
// client's (core/jobfile). Their package inits (cty's function library,
// unicode normalisation, math/big, regexps) were about 200-250 of an idle
// zdrun's 1,240 resident pages.
func TestManagersLinkNoHCL(t *testing.T) {
	for _, cmd := range []string{"../zdrun", "../zdrun-plugins"} {
		out, err := exec.Command("go", "list", "-deps", cmd).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", cmd, err)
		}
		forbidden := []string{
			"github.com/hashicorp/hcl", "github.com/zclconf/go-cty",
			"github.com/zdaemon/zdaemon/core/jobfile", "github.com/zdaemon/zdaemon/core/zconfig",
		}
		for _, pkg := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if pkg == f || strings.HasPrefix(pkg, f+"/") {
					t.Errorf("%s links %s", cmd[3:], pkg)
				}
			}
		}
	}
}

// The client links no DNS resolver: it only ever dials unix sockets, with
// net.DialUnix; a net.Dial or DialTimeout anywhere it can reach links the
// resolver (420 KB of the client).
func TestClientLinksNoResolver(t *testing.T) {
	out, err := exec.Command("go", "tool", "nm", zdaemonBin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	for _, sym := range []string{"net.(*Resolver).", "net.dnsReadConfig"} {
		if strings.Contains(string(out), " "+sym) {
			t.Errorf("the client links the DNS resolver (%s...)", sym)
		}
	}
}

// The client links neither the net package nor log/slog: it dials the
// control socket with core/controlproto's system calls, probes listen
// addresses with core/listen's, and never serves the control socket
// (core/control, the managers'). net's and slog's package inits and what
// they keep were about 300 KB of the client.
func TestClientLinksNoNetOrSlog(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := map[string]string{
		"net":      "the net package",
		"log/slog": "log/slog",
		"github.com/zdaemon/zdaemon/core/control": "the control server (core/control)",
		// Job files are HCL's native syntax, parsed with hclsyntax;
		// hclparse would link HCL's JSON syntax too.
		"github.com/hashicorp/hcl/v2/json": "HCL's JSON syntax (hclparse's)",
	}
	for _, pkg := range strings.Fields(string(out)) {
		if why, ok := forbidden[pkg]; ok {
			t.Errorf("the client links %s (%s)", pkg, why)
		}
	}
}
