package builtin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/zdaemon/zdaemon/plugins/healthcheck"
)

// Program runs a command; the program is up when it exits 0.
type Program struct{ argv []string }

// Schema of healthcheck "program" { command = "..." }.
func (p *Program) Schema(context.Context) (healthcheck.Schema, error) {
	return healthcheck.Schema{Attributes: []healthcheck.Attribute{
		{Name: "command", Type: healthcheck.TypeString, Required: true, Description: "the test command, split on whitespace; exit status 0 means up"},
	}}, nil
}

// Validate checks the configuration.
func (p *Program) Validate(_ context.Context, cfg healthcheck.Config) []healthcheck.FieldError {
	if len(strings.Fields(cfg.String("command", ""))) == 0 {
		return []healthcheck.FieldError{{Field: "command", Message: "must name a command"}}
	}
	return nil
}

// Configure applies the configuration.
func (p *Program) Configure(ctx context.Context, cfg healthcheck.Config) error {
	if err := validated(p.Validate(ctx, cfg)); err != nil {
		return err
	}
	p.argv = strings.Fields(cfg.String("command", ""))
	return nil
}

// Check runs the command once, killing it when the try times out. Its
// output goes to the plugin's stderr, which lands in the manager's log.
func (p *Program) Check(ctx context.Context, _ healthcheck.Request) (healthcheck.Result, error) {
	cmd := exec.CommandContext(ctx, p.argv[0], p.argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr // never stdout: that is go-plugin's
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return healthcheck.Result{Healthy: true, Message: strings.Join(p.argv, " ") + ": exit status 0"}, nil
	case errors.As(err, &ee):
		return healthcheck.Result{Message: fmt.Sprintf("%s: %s", strings.Join(p.argv, " "), ee.ProcessState)}, nil
	default: // could not run it at all: a failure, never a success
		return healthcheck.Result{Message: err.Error()}, nil
	}
}
