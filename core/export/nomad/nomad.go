// Package nomad turns a job into a Nomad job for the exec driver, built from
// github.com/hashicorp/nomad/api's types. The task runs "zdaemon -C FILE
// run" with the job file embedded as a template, so that the Nomad job is
// self-contained; the start tests become Nomad service checks where Nomad
// has one. It links Nomad's API client, so it lives in the manager
// executable (zdrun), never in the client.
package nomad

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/zdaemon/zdaemon/core/config"
)

// Request is what the client sends "zdrun export nomad": the effective
// configuration, where the client is installed, the job file's name and
// its HCL text (a legacy file converted).
type Request struct {
	Config *config.Config `json:"config"`
	Client string         `json:"client"`
	File   string         `json:"file"`
	HCL    string         `json:"hcl"`
}

// Template delimiters of the embedded job file: consul-template must not
// read "{{" in it as an action.
const (
	leftDelim  = "[[zdaemon-job-file:"
	rightDelim = ":zdaemon-job-file]]"
)

// minInterval is Nomad's shortest check interval.
const minInterval = time.Second

// Export builds the Nomad job, and warnings for what Nomad cannot express
// (those parts are left out).
func Export(r Request) (*api.Job, []string, error) {
	c := r.Config
	if c == nil || len(c.Program) == 0 {
		return nil, nil, fmt.Errorf("the job has no program")
	}
	if strings.Contains(r.HCL, leftDelim) || strings.Contains(r.HCL, rightDelim) {
		return nil, nil, fmt.Errorf("the job file contains %q, which the embedded template uses as a delimiter", leftDelim)
	}
	id := jobID(r.File)
	dest := "local/" + id + ".hcl"
	job := api.NewServiceJob(id, id, "global", 50)
	tg := api.NewTaskGroup(id, 1)
	task := api.NewTask("zdaemon", "exec")
	task.Config = map[string]any{
		"command": r.Client,
		"args":    []string{"-C", dest, "run"},
	}
	task.User = c.User
	task.KillSignal = "SIGTERM"
	if c.StopTimeout > 0 {
		kill := c.StopTimeout + 5*time.Second
		task.KillTimeout = &kill
	}
	if len(c.Environment) > 0 {
		task.Env = map[string]string{}
		for _, e := range c.Environment {
			task.Env[e.Name] = e.Value
		}
	}
	perms := "0644"
	data, ld, rd, mode := r.HCL, leftDelim, rightDelim, "noop"
	task.Templates = []*api.Template{{
		EmbeddedTmpl: &data, DestPath: &dest, Perms: &perms,
		LeftDelim: &ld, RightDelim: &rd, ChangeMode: &mode,
	}}
	var warnings []string
	svc := &api.Service{Name: id, Provider: "nomad"}
	var ports []api.Port
	for i, ck := range c.AllChecks() {
		sc, port, warn := check(ck, i)
		if warn != "" {
			warnings = append(warnings, warn)
		}
		if sc == nil {
			continue
		}
		if port != nil {
			ports = append(ports, *port)
		}
		svc.Checks = append(svc.Checks, *sc)
	}
	for _, sc := range svc.Checks {
		if sc.Type == "script" {
			svc.Provider = "consul" // Nomad's own checks are http and tcp only
			warnings = append(warnings, "the program checks become Consul script checks: the service is registered in Consul")
			break
		}
	}
	if len(ports) > 0 {
		tg.Networks = []*api.NetworkResource{{ReservedPorts: ports}}
	}
	if len(svc.Checks) > 0 {
		tg.Services = []*api.Service{svc}
	}
	tg.AddTask(task)
	job.AddTaskGroup(tg)
	return job, warnings, nil
}

// Marshal is the job as "nomad job run -json" and the /v1/jobs API read
// it: {"Job": {...}}, indented.
func Marshal(job *api.Job) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct{ Job *api.Job }{job}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// check is one start test as a Nomad service check: nil with a warning
// where Nomad has none.
func check(ck config.CheckConfig, i int) (*api.ServiceCheck, *api.Port, string) {
	name := fmt.Sprintf("%s-%d", ck.Kind, i+1)
	interval, timeout := ck.Interval, ck.Timeout
	if interval == 0 {
		interval = config.DefaultCheckInterval
	}
	if timeout == 0 {
		timeout = config.DefaultCheckTimeout
	}
	var warn string
	if interval < minInterval {
		warn = fmt.Sprintf("healthcheck %q: interval %s raised to Nomad's minimum of 1s", ck.Kind, interval)
		interval = minInterval
	}
	if timeout > interval {
		timeout = interval
	}
	sc := &api.ServiceCheck{Name: name, Interval: interval, Timeout: timeout}
	str := func(k string) string { s, _ := ck.Settings[k].(string); return s }
	switch ck.Kind {
	case "tcp":
		port, err := portOf(str("address"), "")
		if err != nil {
			return nil, nil, fmt.Sprintf("healthcheck \"tcp\" left out: %v", err)
		}
		sc.Type, sc.PortLabel, sc.AddressMode = "tcp", name, "host"
		return sc, &api.Port{Label: name, Value: port}, warn
	case "http":
		u, err := url.Parse(str("url"))
		if err != nil || u.Host == "" {
			return nil, nil, fmt.Sprintf("healthcheck \"http\" left out: cannot read the url %q", str("url"))
		}
		def := "80"
		if u.Scheme == "https" {
			def = "443"
		}
		port, err := portOf(u.Host, def)
		if err != nil {
			return nil, nil, fmt.Sprintf("healthcheck \"http\" left out: %v", err)
		}
		sc.Type, sc.Protocol, sc.Method, sc.PortLabel, sc.AddressMode = "http", u.Scheme, "GET", name, "host"
		sc.Path = u.EscapedPath()
		if sc.Path == "" {
			sc.Path = "/"
		}
		if u.RawQuery != "" {
			sc.Path += "?" + u.RawQuery
		}
		if _, ok := ck.Settings["status"]; ok {
			warn = joinWarn(warn, "healthcheck \"http\": Nomad passes any 2xx; the expected status is not checked there")
		}
		if str("body") != "" {
			warn = joinWarn(warn, "healthcheck \"http\": Nomad does not check the body")
		}
		return sc, &api.Port{Label: name, Value: port}, warn
	case "program":
		argv := strings.Fields(str("command"))
		if len(argv) == 0 {
			return nil, nil, "healthcheck \"program\" left out: no command"
		}
		sc.Type, sc.Command, sc.Args, sc.TaskName = "script", argv[0], argv[1:], "zdaemon"
		return sc, nil, warn
	case "notify", "unix":
		return nil, nil, fmt.Sprintf("healthcheck %q left out: Nomad has no such check (zdaemon still runs it at start)", ck.Kind)
	default:
		return nil, nil, fmt.Sprintf("healthcheck %q left out: a plugin check has no Nomad equivalent (zdaemon still runs it at start)", ck.Kind)
	}
}

func joinWarn(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// portOf is the port of host:port (def when it has none).
func portOf(hostport, def string) (int, error) {
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		if def == "" {
			return 0, fmt.Errorf("address %q has no port", hostport)
		}
		p = def
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("address %q has no port number", hostport)
	}
	return n, nil
}

var unsafeID = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// jobID is a Nomad job ID from the job file's name: "app.hcl" → "app".
func jobID(file string) string {
	base := path.Base(file)
	base = strings.TrimSuffix(base, path.Ext(base))
	id := strings.Trim(unsafeID.ReplaceAllString(base, "-"), "-")
	if id == "" {
		id = "zdaemon-job"
	}
	return id
}
