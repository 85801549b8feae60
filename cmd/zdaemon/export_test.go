package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// exportJob is a job file with everything a unit carries: user, directory,
// umask, an environment that needs quoting, and a tcp and an http check.
const exportJob = `runner {
  program      = ["sleep", "1000"]
  socket-name  = "zdsock"
  directory    = "/tmp"
  umask        = "027"
  stop-timeout = 30
}
environment {
  GREETING = "hello world 100%"
  QUOTED   = "say \"hi\" \\ $HOME"
}
healthcheck "tcp" {
  address  = "127.0.0.1:8080"
  interval = "2s"
  timeout  = "1s"
}
healthcheck "http" {
  url = "http://127.0.0.1:8081/health?deep=1"
}
`

// The unit is the golden file (paths replaced), and systemd's own
// verifier accepts it where systemd-analyze is installed.
func TestExportSystemd(t *testing.T) {
	j := newJob(t)
	file := j.write("app.hcl", exportJob)
	r := j.must(0, "export", "systemd", "-C", file)
	got := strings.ReplaceAll(strings.ReplaceAll(r.out, zdaemonBin, "ZDAEMON"), j.dir, "DIR")
	checkGolden(t, "testdata/export/app.service", got)
	// -C before the action is the same.
	if r2 := j.must(0, "-C", file, "export", "systemd"); r2.out != r.out {
		t.Errorf("-C before export gives another unit:\n%s", r2.out)
	}
	t.Run("systemd-analyze verify", func(t *testing.T) {
		sa, err := exec.LookPath("systemd-analyze")
		if err != nil {
			t.Skip("SKIPPED: systemd-analyze is not installed (apt-get install systemd)")
		}
		unit := j.write("zdaemon-app.service", r.out)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, sa, "verify", unit).CombinedOutput()
		if err != nil || strings.Contains(string(out), unit) {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	})
}

// The Nomad job decodes back into api.Job, field by field: the exec
// driver runs "zdaemon -C local/app.hcl run" with the job file embedded,
// and the tcp and http checks are Nomad service checks on reserved ports.
func TestExportNomad(t *testing.T) {
	j := newJob(t)
	file := j.write("app.hcl", exportJob)
	r := j.must(0, "export", "nomad", "-C", file)
	var wrapped struct{ Job *api.Job }
	dec := json.NewDecoder(strings.NewReader(r.out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wrapped); err != nil || wrapped.Job == nil {
		t.Fatalf("decode %q: %v", r.out, err)
	}
	job := wrapped.Job
	if *job.ID != "app" || *job.Type != "service" || len(job.TaskGroups) != 1 {
		t.Fatalf("job %+v", job)
	}
	tg := job.TaskGroups[0]
	if len(tg.Tasks) != 1 {
		t.Fatalf("tasks %+v", tg.Tasks)
	}
	task := tg.Tasks[0]
	if task.Driver != "exec" || task.Config["command"] != zdaemonBin {
		t.Errorf("task driver %q command %v", task.Driver, task.Config["command"])
	}
	args, _ := task.Config["args"].([]any)
	if len(args) != 3 || args[0] != "-C" || args[1] != "local/app.hcl" || args[2] != "run" {
		t.Errorf("args %v", task.Config["args"])
	}
	if task.Env["GREETING"] != "hello world 100%" || task.Env["QUOTED"] != `say "hi" \ $HOME` {
		t.Errorf("env %v", task.Env)
	}
	if task.KillTimeout == nil || *task.KillTimeout != 35*time.Second || task.KillSignal != "SIGTERM" {
		t.Errorf("kill %v %q", task.KillTimeout, task.KillSignal)
	}
	src, _ := os.ReadFile(file)
	if len(task.Templates) != 1 || *task.Templates[0].EmbeddedTmpl != string(src) || *task.Templates[0].DestPath != "local/app.hcl" {
		t.Errorf("templates %+v", task.Templates)
	}
	if len(tg.Services) != 1 || len(tg.Services[0].Checks) != 2 {
		t.Fatalf("services %+v", tg.Services)
	}
	tcp, http := tg.Services[0].Checks[0], tg.Services[0].Checks[1]
	if tcp.Type != "tcp" || tcp.Interval != 2*time.Second || tcp.Timeout != time.Second {
		t.Errorf("tcp check %+v", tcp)
	}
	if http.Type != "http" || http.Path != "/health?deep=1" || http.Protocol != "http" {
		t.Errorf("http check %+v", http)
	}
	ports := map[string]int{}
	for _, p := range tg.Networks[0].ReservedPorts {
		ports[p.Label] = p.Value
	}
	if ports[tcp.PortLabel] != 8080 || ports[http.PortLabel] != 8081 {
		t.Errorf("ports %v for %q and %q", ports, tcp.PortLabel, http.PortLabel)
	}
}

// A legacy ZConfig file exports too: the embedded job file is its HCL
// translation, which zdaemon validate accepts.
func TestExportLegacy(t *testing.T) {
	j := newJob(t)
	file := j.write("old.conf", "<runner>\n  program sleep 1000\n  socket-name zdsock\n</runner>\n")
	unit := j.must(0, "export", "systemd", "-C", file)
	if !strings.Contains(unit.out, "ExecStart="+zdaemonBin+" -C "+file+" run\n") {
		t.Errorf("unit:\n%s", unit.out)
	}
	r := j.must(0, "export", "nomad", "-C", file)
	var wrapped struct{ Job *api.Job }
	if err := json.Unmarshal([]byte(r.out), &wrapped); err != nil {
		t.Fatal(err)
	}
	hcl := *wrapped.Job.TaskGroups[0].Tasks[0].Templates[0].EmbeddedTmpl
	j.must(0, "validate", j.write("translated.hcl", hcl))
	if !strings.Contains(hcl, `program     = ["sleep", "1000"]`) {
		t.Errorf("embedded job file:\n%s", hcl)
	}
}

func TestExportMisuse(t *testing.T) {
	j := newJob(t)
	file := j.write("app.hcl", exportJob)
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"export"}, 1, "Usage: zdaemon [options] export systemd|nomad"},
		{[]string{"export", "systemd"}, 1, "Error: export needs a job file: -C FILE"},
		{[]string{"export", "kubernetes", "-C", file}, 1, `Error: cannot export to "kubernetes": the targets are systemd and nomad`},
		{[]string{"export", "systemd", "-C", file, "extra"}, 1, "Usage: zdaemon [options] export"},
		{[]string{"-X", "runner/backoff-limit=3", "-C", file, "export", "systemd"}, 1, "put the settings of the command line"},
		{[]string{"export", "systemd", "-C", j.path("missing.hcl")}, 2, "error opening file"},
	} {
		r := j.run(tc.args...)
		if r.code != tc.code || !strings.Contains(r.err, tc.err) || r.out != "" {
			t.Errorf("%v: exit %d, out %q, err %q; want exit %d and %q", tc.args, r.code, r.out, r.err, tc.code, tc.err)
		}
	}
}

// Under systemd (Type=notify), "zdaemon run" sends READY=1 once the
// program is up, with its pid in STATUS=, and STOPPING=1 when SIGTERM
// stops the job; the program does not inherit the manager's socket.
func TestRunNotifiesServiceManager(t *testing.T) {
	j := newJob(t)
	sockPath := filepath.Join(j.dir, "n.sock")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prog := j.write("prog.sh", "#!/bin/sh\necho \"${NOTIFY_SOCKET:-none}\" > notify-env\nexec sleep 1000\n")
	os.Chmod(prog, 0o755)
	cmd := j.background(ctx, []string{"NOTIFY_SOCKET=" + sockPath}, zdaemonBin, "-p", prog, "-s", "zdsock", "run")
	done := cmd.done
	next := func(want string) string {
		t.Helper()
		buf := make([]byte, 4096)
		for {
			_ = sock.SetReadDeadline(time.Now().Add(30 * time.Second))
			n, err := sock.Read(buf)
			if err != nil {
				t.Fatalf("waiting for %s: %v", want, err)
			}
			if msg := string(buf[:n]); strings.Contains(msg, want) {
				return msg
			}
		}
	}
	ready := next("READY=1")
	st := j.statusMap("-p", prog, "-s", "zdsock")
	if !strings.Contains(ready, "STATUS=running, pid "+st["pid"]) {
		t.Errorf("READY message %q; status %v", ready, st)
	}
	if env, _ := os.ReadFile(j.path("notify-env")); strings.TrimSpace(string(env)) != "none" {
		t.Errorf("the program saw NOTIFY_SOCKET=%q", env)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	next("STOPPING=1")
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("run did not exit after SIGTERM")
	}
}
