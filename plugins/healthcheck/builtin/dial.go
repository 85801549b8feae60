package builtin

import (
	"context"
	"fmt"
	"net"

	"github.com/zdaemon/zdaemon/plugins/healthcheck"
)

// Dial is up when a connection to an address succeeds: "tcp" (address =
// "host:port") or "unix" (path = "/run/app.sock").
type Dial struct {
	Network string
	addr    string
}

func (d *Dial) attr() string {
	if d.Network == "unix" {
		return "path"
	}
	return "address"
}

// Schema of healthcheck "tcp" { address = "127.0.0.1:8080" } and
// healthcheck "unix" { path = "/run/app.sock" }.
func (d *Dial) Schema(context.Context) (healthcheck.Schema, error) {
	desc := "host:port to connect to"
	if d.Network == "unix" {
		desc = "the unix socket to connect to"
	}
	return healthcheck.Schema{Attributes: []healthcheck.Attribute{{Name: d.attr(), Type: healthcheck.TypeString, Required: true, Description: desc}}}, nil
}

// Validate checks the configuration.
func (d *Dial) Validate(_ context.Context, cfg healthcheck.Config) []healthcheck.FieldError {
	if errs := required(cfg, d.attr()); errs != nil {
		return errs
	}
	if d.Network == "tcp" {
		if _, _, err := net.SplitHostPort(cfg.String("address", "")); err != nil {
			return []healthcheck.FieldError{{Field: "address", Message: "must be host:port"}}
		}
	}
	return nil
}

// Configure applies the configuration.
func (d *Dial) Configure(ctx context.Context, cfg healthcheck.Config) error {
	if err := validated(d.Validate(ctx, cfg)); err != nil {
		return err
	}
	d.addr = cfg.String(d.attr(), "")
	return nil
}

// Check connects once.
func (d *Dial) Check(ctx context.Context, _ healthcheck.Request) (healthcheck.Result, error) {
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, d.Network, d.addr)
	if err != nil {
		return healthcheck.Result{Message: fmt.Sprintf("connect to %s: %v", d.addr, err)}, nil
	}
	c.Close()
	return healthcheck.Result{Healthy: true, Message: "connected to " + d.addr}, nil
}
