package healthchecktest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zdaemon/zdaemon/plugins/healthcheck"
)

// The mock behind a real gRPC connection: requests, results, deadlines and
// errors cross the wire.
func TestMockOverGRPC(t *testing.T) {
	started := time.Unix(1795485107, 5)
	mock := &MockChecker{
		ConfigureFn: func(_ context.Context, cfg healthcheck.Config) error {
			if cfg.Number("port", 0) != 80 {
				return errors.New("port: want 80")
			}
			return nil
		},
		CheckFn: func(ctx context.Context, req healthcheck.Request) (healthcheck.Result, error) {
			if req.Pid == 0 {
				<-ctx.Done() // a hanging check
				return healthcheck.Result{}, ctx.Err()
			}
			return healthcheck.Result{Healthy: req.Pid == 7 && req.Started.Equal(started), Message: "ok"}, nil
		},
	}
	c := healthcheck.TestChecker(t, mock)
	ctx := context.Background()
	if err := c.Configure(ctx, healthcheck.Config{"port": float64(80)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Configure(ctx, healthcheck.Config{}); err == nil {
		t.Fatal("configure error lost")
	}
	res, err := c.Check(ctx, healthcheck.Request{Pid: 7, Started: started})
	if err != nil || !res.Healthy || res.Message != "ok" {
		t.Fatalf("check %+v, %v", res, err)
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.Check(tctx, healthcheck.Request{}); err == nil {
		t.Fatal("a hanging check did not fail at the deadline")
	}
}

// Schema and Validate answer in every protocol version (1: through the
// checker service, 2: through the base service), and a plugin's error
// comes back in its own words, without gRPC's.
func TestBaseCallsEveryVersion(t *testing.T) {
	for _, version := range []int{1, 2} {
		t.Run(fmt.Sprint("version ", version), func(t *testing.T) {
			fail := false
			mock := &MockChecker{
				SchemaFn: func(context.Context) (healthcheck.Schema, error) {
					if fail {
						return healthcheck.Schema{}, errors.New("no schema today")
					}
					return healthcheck.Schema{Attributes: []healthcheck.Attribute{{Name: "port", Type: healthcheck.TypeNumber}}}, nil
				},
				ValidateFn: func(context.Context, healthcheck.Config) []healthcheck.FieldError {
					return []healthcheck.FieldError{{Field: "port", Message: "missing"}}
				},
			}
			c := healthcheck.TestCheckerVersion(t, mock, version)
			ctx := context.Background()
			if sch, err := c.Schema(ctx); err != nil || len(sch.Attributes) != 1 || sch.Attributes[0].Name != "port" {
				t.Fatalf("schema %+v, %v", sch, err)
			}
			if errs := c.Validate(ctx, healthcheck.Config{}); len(errs) != 1 || errs[0].Field != "port" {
				t.Fatalf("validate %v", errs)
			}
			fail = true
			if _, err := c.Schema(ctx); err == nil || err.Error() != "no schema today" {
				t.Fatalf("schema error %v", err)
			}
		})
	}
}
