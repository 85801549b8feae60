package nomad

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/zdaemon/zdaemon/core/config"
)

func checkCfg(kind string, settings map[string]any, interval time.Duration) config.CheckConfig {
	return config.CheckConfig{PluginConfig: config.PluginConfig{Kind: kind, Settings: settings}, Interval: interval}
}

func TestChecks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		check    config.CheckConfig
		typ      string
		port     int
		provider string
		warning  string
	}{
		{name: "tcp", check: checkCfg("tcp", map[string]any{"address": "127.0.0.1:9000"}, 0), typ: "tcp", port: 9000, provider: "nomad"},
		{name: "http default port", check: checkCfg("http", map[string]any{"url": "http://localhost/x"}, 0), typ: "http", port: 80, provider: "nomad"},
		{name: "https", check: checkCfg("http", map[string]any{"url": "https://localhost/x"}, 0), typ: "http", port: 443, provider: "nomad"},
		{name: "http status", check: checkCfg("http", map[string]any{"url": "http://h:1/", "status": float64(204)}, 0), typ: "http", port: 1, provider: "nomad", warning: "any 2xx"},
		{name: "fast interval", check: checkCfg("tcp", map[string]any{"address": "h:2"}, 100*time.Millisecond), typ: "tcp", port: 2, provider: "nomad", warning: "raised to Nomad's minimum"},
		{name: "program", check: checkCfg("program", map[string]any{"command": "/bin/check --fast"}, 0), typ: "script", provider: "consul", warning: "Consul script checks"},
		{name: "notify", check: checkCfg("notify", map[string]any{}, 0), warning: `healthcheck "notify" left out`},
		{name: "unix", check: checkCfg("unix", map[string]any{"path": "/run/s"}, 0), warning: `healthcheck "unix" left out`},
		{name: "plugin", check: checkCfg("redis", map[string]any{}, 0), warning: "plugin check has no Nomad equivalent"},
		{name: "tcp without port", check: checkCfg("tcp", map[string]any{"address": "host"}, 0), warning: "has no port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			c.Program = []string{"app"}
			c.Checks = []config.CheckConfig{tc.check}
			job, warnings, err := Export(Request{Config: c, Client: "/bin/zdaemon", File: "/etc/my app.hcl", HCL: "runner {}\n"})
			if err != nil {
				t.Fatal(err)
			}
			if *job.ID != "my-app" {
				t.Errorf("id %q", *job.ID)
			}
			if w := strings.Join(warnings, "\n"); tc.warning == "" && w != "" || !strings.Contains(w, tc.warning) {
				t.Errorf("warnings %q, want %q", w, tc.warning)
			}
			tg := job.TaskGroups[0]
			if tc.typ == "" {
				if len(tg.Services) != 0 {
					t.Errorf("services %+v", tg.Services)
				}
				return
			}
			svc := tg.Services[0]
			if svc.Provider != tc.provider || svc.Checks[0].Type != tc.typ {
				t.Errorf("service %+v", svc)
			}
			if svc.Checks[0].Interval < time.Second || svc.Checks[0].Timeout > svc.Checks[0].Interval {
				t.Errorf("interval %s timeout %s", svc.Checks[0].Interval, svc.Checks[0].Timeout)
			}
			if tc.port != 0 && (len(tg.Networks) != 1 || tg.Networks[0].ReservedPorts[0].Value != tc.port ||
				tg.Networks[0].ReservedPorts[0].Label != svc.Checks[0].PortLabel) {
				t.Errorf("networks %+v", tg.Networks)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	c := config.Default()
	c.Program = []string{"app"}
	job, _, err := Export(Request{Config: c, Client: "/bin/zdaemon", File: "/etc/app.hcl", HCL: "runner {\n  program = \"app {{x}}\"\n}\n"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	var back struct{ Job *api.Job }
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	tmpl := back.Job.TaskGroups[0].Tasks[0].Templates[0]
	if !strings.Contains(*tmpl.EmbeddedTmpl, "{{x}}") || *tmpl.LeftDelim == "{{" {
		t.Errorf("template %+v", tmpl)
	}
}

func TestRefusals(t *testing.T) {
	c := config.Default()
	if _, _, err := Export(Request{Config: c}); err == nil {
		t.Error("a job without a program exported")
	}
	c.Program = []string{"app"}
	if _, _, err := Export(Request{Config: c, HCL: "x = \"" + leftDelim + "\""}); err == nil {
		t.Error("a job file holding the delimiter exported")
	}
}
