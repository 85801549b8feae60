// Package healthchecktest helps test code that uses health checks: a
// MockChecker whose methods call function fields.
package healthchecktest

import (
	"context"

	"github.com/zdaemon/zdaemon/plugins/healthcheck"
)

// MockChecker is a healthcheck.Checker whose methods call the matching Fn
// field; a nil field does nothing and returns zero values.
type MockChecker struct {
	SchemaFn    func(ctx context.Context) (healthcheck.Schema, error)
	ValidateFn  func(ctx context.Context, cfg healthcheck.Config) []healthcheck.FieldError
	ConfigureFn func(ctx context.Context, cfg healthcheck.Config) error
	CheckFn     func(ctx context.Context, req healthcheck.Request) (healthcheck.Result, error)
}

// Schema calls SchemaFn.
func (m *MockChecker) Schema(ctx context.Context) (healthcheck.Schema, error) {
	if m.SchemaFn == nil {
		return healthcheck.Schema{}, nil
	}
	return m.SchemaFn(ctx)
}

// Validate calls ValidateFn.
func (m *MockChecker) Validate(ctx context.Context, cfg healthcheck.Config) []healthcheck.FieldError {
	if m.ValidateFn == nil {
		return nil
	}
	return m.ValidateFn(ctx, cfg)
}

// Configure calls ConfigureFn.
func (m *MockChecker) Configure(ctx context.Context, cfg healthcheck.Config) error {
	if m.ConfigureFn == nil {
		return nil
	}
	return m.ConfigureFn(ctx, cfg)
}

// Check calls CheckFn.
func (m *MockChecker) Check(ctx context.Context, req healthcheck.Request) (healthcheck.Result, error) {
	if m.CheckFn == nil {
		return healthcheck.Result{}, nil
	}
	return m.CheckFn(ctx, req)
}

var _ healthcheck.Checker = (*MockChecker)(nil)
