package jobfile

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zdaemon/zdaemon/core/config"
)

const livenessBlock = "liveness"

var livenessSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "interval"}, {Name: "failures"}, {Name: "grace"},
}}

// decodeLiveness reads the liveness block of a healthcheck block: at most
// one, with an interval, failures of at least 1 and a grace that is not
// negative. A built-in notify check has no tries to repeat, so a liveness
// block there is an error.
func decodeLiveness(blocks hcl.Blocks, pb *PluginBlock) (*config.Liveness, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var lv *config.Liveness
	for _, b := range blocks {
		if lv != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate liveness block",
				Detail:   "A health check has at most one liveness block.",
				Subject:  b.DefRange.Ptr(),
			})
			continue
		}
		if pb.Kind == "notify" && pb.Plugin == "" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Liveness in a notify check",
				Detail:   "A notify check passes once, when the program reports READY=1; it has no tries to repeat while the program runs. To catch a program that hangs, set watchdog = \"30s\" in the runner block (the program then sends WATCHDOG=1), or give the liveness block to another check.",
				Subject:  b.DefRange.Ptr(),
			})
		}
		lv = &config.Liveness{Failures: config.DefaultLivenessFailures}
		content, more := b.Body.Content(livenessSchema)
		diags = append(diags, more...)
		if _, ok := content.Attributes["interval"]; !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing liveness interval",
				Detail:   "A liveness block must say how often to try the check while the program runs, e.g. interval = \"10s\".",
				Subject:  b.DefRange.Ptr(),
			})
		}
		for _, a := range sortedAttrs(content.Attributes) {
			v, more := a.Expr.Value(nil)
			diags = append(diags, more...)
			if more.HasErrors() {
				continue
			}
			var err error
			expect := `a number of seconds or a duration such as "10s"`
			switch a.Name {
			case "interval":
				err = durationAttr(v, &lv.Interval)
				if err == nil && lv.Interval <= 0 {
					err = fmt.Errorf("it must be more than 0")
				}
			case "grace":
				err = durationAttr(v, &lv.Grace)
			case "failures":
				expect = "a whole number, at least 1"
				lv.Failures, err = wholeNumber(v)
				if err == nil && lv.Failures < 1 {
					err = fmt.Errorf("%d is less than 1", lv.Failures)
				}
			}
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid liveness " + a.Name,
					Detail:   fmt.Sprintf("%s must be %s; %v.", a.Name, expect, err),
					Subject:  a.Expr.Range().Ptr(),
				})
			}
		}
	}
	return lv, diags
}

// durationAttr sets *d from a number of seconds or a duration string, as
// the runner's durations.
func durationAttr(v cty.Value, d *time.Duration) error {
	var c config.Config
	field := func(*config.Config) *time.Duration { return d }
	if v.Type() == cty.String {
		return durationSetter(field)(&c, v.AsString())
	}
	return durationValue(field)(&c, v)
}

// setWatchdog sets the runner's watchdog: 0 is none, anything else at
// least config.MinWatchdog.
func setWatchdog(c *config.Config, d time.Duration) error {
	if d > 0 && d < config.MinWatchdog {
		return fmt.Errorf("%v is shorter than %v (0 turns the watchdog off)", d, config.MinWatchdog)
	}
	c.Watchdog = d
	return nil
}
