package export

import (
	"strings"
	"testing"
	"time"

	"github.com/zdaemon/zdaemon/core/config"
)

func TestQuote(t *testing.T) {
	for _, tc := range []struct {
		in      string
		command bool
		want    string
	}{
		{"/usr/bin/zdaemon", true, "/usr/bin/zdaemon"},
		{"a b", true, `"a b"`},
		{"", true, `""`},
		{`say "hi"`, false, `"say \"hi\""`},
		{`back\slash`, false, `"back\\slash"`},
		{"100%", false, `"100%%"`},
		{"$HOME", true, `"$$HOME"`},
		{"$HOME", false, `"$HOME"`},
		{"line\nbreak\ttab\x01", false, `"line\nbreak\ttab\x01"`},
		{"K=v", false, "K=v"},
	} {
		if got := quote(tc.in, tc.command); got != tc.want {
			t.Errorf("quote(%q, %v) = %s, want %s", tc.in, tc.command, got, tc.want)
		}
	}
}

func TestSystemd(t *testing.T) {
	base := func() *config.Config {
		c := config.Default()
		c.Program = []string{"/srv/app", "--port", "80"}
		return c
	}
	for _, tc := range []struct {
		name  string
		edit  func(*config.Config)
		job   Job
		want  []string
		error string
	}{
		{name: "defaults", want: []string{"Type=notify\n", "ExecStart=/bin/zdaemon -C /etc/app.hcl run\n",
			"ExecReload=/bin/zdaemon -C /etc/app.hcl reload\n", "TimeoutStopSec=305s\n", "UMask=0022\n",
			"Description=zdaemon job app.hcl: /srv/app --port 80\n"}},
		{name: "no stop timeout", edit: func(c *config.Config) { c.StopTimeout = 0 }, want: []string{"TimeoutStopSec=infinity\n"}},
		{name: "sub-second timeouts", edit: func(c *config.Config) { c.StartTimeout = 1500 * time.Millisecond }, want: []string{"TimeoutStartSec=1500ms\n"}},
		{name: "user and directory", edit: func(c *config.Config) { c.User, c.Directory = "www", "/srv/100%" },
			want: []string{"User=www\n", "WorkingDirectory=/srv/100%%\n"}},
		{name: "bad environment name", edit: func(c *config.Config) { c.Environment = []config.EnvVar{{Name: "A=B", Value: "x"}} },
			error: "cannot be exported"},
		{name: "relative paths", job: Job{Client: "zdaemon", File: "app.hcl"}, error: "absolute paths"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			if tc.edit != nil {
				tc.edit(c)
			}
			job := tc.job
			if job.Client == "" {
				job = Job{Client: "/bin/zdaemon", File: "/etc/app.hcl"}
			}
			job.Config = c
			got, err := Systemd(job)
			if tc.error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("err %v, want %q", err, tc.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("unit lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
