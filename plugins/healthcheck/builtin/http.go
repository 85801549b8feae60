package builtin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/zdaemon/zdaemon/plugins/healthcheck"
)

// HTTP is up when a GET of a URL answers with the expected status (any
// 2xx by default) and, optionally, a body containing a string.
type HTTP struct {
	url    string
	status int
	body   string
	client http.Client
}

// Schema of healthcheck "http" { url = "http://127.0.0.1:8080/health" }.
func (h *HTTP) Schema(context.Context) (healthcheck.Schema, error) {
	return healthcheck.Schema{Attributes: []healthcheck.Attribute{
		{Name: "url", Type: healthcheck.TypeString, Required: true, Description: "the URL to GET"},
		{Name: "status", Type: healthcheck.TypeNumber, Description: "the expected status code (default: any 2xx)"},
		{Name: "body", Type: healthcheck.TypeString, Description: "a string the response body must contain"},
	}}, nil
}

// Validate checks the configuration.
func (h *HTTP) Validate(_ context.Context, cfg healthcheck.Config) []healthcheck.FieldError {
	if errs := required(cfg, "url"); errs != nil {
		return errs
	}
	u, err := url.Parse(cfg.String("url", ""))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return []healthcheck.FieldError{{Field: "url", Message: "must be an http:// or https:// URL"}}
	}
	return wholeNumber(cfg, "status", 100, 599)
}

// Configure applies the configuration.
func (h *HTTP) Configure(ctx context.Context, cfg healthcheck.Config) error {
	if err := validated(h.Validate(ctx, cfg)); err != nil {
		return err
	}
	h.url = cfg.String("url", "")
	h.status = int(cfg.Number("status", 0))
	h.body = cfg.String("body", "")
	return nil
}

// Check makes one request.
func (h *HTTP) Check(ctx context.Context, _ healthcheck.Request) (healthcheck.Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
	if err != nil {
		return healthcheck.Result{}, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return healthcheck.Result{Message: fmt.Sprintf("GET %s: %v", h.url, err)}, nil
	}
	defer resp.Body.Close()
	ok := resp.StatusCode == h.status || (h.status == 0 && resp.StatusCode/100 == 2)
	if !ok {
		return healthcheck.Result{Message: fmt.Sprintf("GET %s: status %d", h.url, resp.StatusCode)}, nil
	}
	if h.body != "" {
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil || !strings.Contains(string(data), h.body) {
			return healthcheck.Result{Message: fmt.Sprintf("GET %s: body lacks %q", h.url, h.body)}, nil
		}
	}
	return healthcheck.Result{Healthy: true, Message: fmt.Sprintf("GET %s: status %d", h.url, resp.StatusCode)}, nil
}
