// Command healthcheck-logline is a zdaemon health check that passes when a
// log file contains a line matching a regular expression written since the
// program started ("Listening on port 8080", "Ready to accept
// connections"). It is written as any third party writes a check: its own
// main and the public contract package
// github.com/zdaemon/zdaemon/plugins/healthcheck, nothing else of zdaemon.
//
//	healthcheck "logline" {
//	  plugin  = "/usr/local/libexec/healthcheck-logline"
//	  path    = "/var/log/app/app.log"
//	  pattern = "Listening on port \\d+"
//	}
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"regexp"

	"github.com/hashicorp/go-hclog"

	"github.com/zdaemon/zdaemon/plugins/healthcheck"
)

type logline struct {
	path    string
	pattern *regexp.Regexp
}

func (l *logline) Schema(context.Context) (healthcheck.Schema, error) {
	return healthcheck.Schema{Attributes: []healthcheck.Attribute{
		{Name: "path", Type: healthcheck.TypeString, Required: true, Description: "the log file to read"},
		{Name: "pattern", Type: healthcheck.TypeString, Required: true, Description: "a regular expression a line must match"},
	}}, nil
}

func (l *logline) Validate(_ context.Context, cfg healthcheck.Config) []healthcheck.FieldError {
	var errs []healthcheck.FieldError
	if cfg.String("path", "") == "" {
		errs = append(errs, healthcheck.FieldError{Field: "path", Message: "must name a file"})
	}
	if _, err := regexp.Compile(cfg.String("pattern", "")); err != nil {
		errs = append(errs, healthcheck.FieldError{Field: "pattern", Message: "is not a regular expression: " + err.Error()})
	}
	return errs
}

func (l *logline) Configure(ctx context.Context, cfg healthcheck.Config) error {
	if errs := l.Validate(ctx, cfg); len(errs) > 0 {
		return errs[0]
	}
	l.path = cfg.String("path", "")
	l.pattern = regexp.MustCompile(cfg.String("pattern", ""))
	return nil
}

// Check scans the file once; only a file written since the program started
// counts, so an old log cannot pass a new start.
func (l *logline) Check(_ context.Context, req healthcheck.Request) (healthcheck.Result, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return healthcheck.Result{Message: err.Error()}, nil
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.ModTime().Before(req.Started) {
		return healthcheck.Result{Message: fmt.Sprintf("%s not written since the start", l.path)}, nil
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l.pattern.MatchString(sc.Text()) {
			return healthcheck.Result{Healthy: true, Message: "found: " + sc.Text()}, nil
		}
	}
	return healthcheck.Result{Message: fmt.Sprintf("no line of %s matches %s yet", l.path, l.pattern)}, nil
}

func main() {
	logger := hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true})
	healthcheck.Serve(&logline{}, logger)
}
