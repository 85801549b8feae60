package jobfile

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/listen"
	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// listenBlock is a held listen socket: listen "NAME" { address = "…" }.
const listenBlock = config.ListenBlock

var listenSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "address", Required: true},
		{Name: "backlog"},
		{Name: "mode"},
	},
}

// decodeListen decodes one listen block into cfg.Listen.
func decodeListen(cfg *config.Config, b *hcl.Block) hcl.Diagnostics {
	i := len(cfg.Listen)
	spec := listen.Spec{Name: b.Labels[0]}
	labelRange := b.DefRange
	if len(b.LabelRanges) > 0 {
		labelRange = b.LabelRanges[0]
	}
	source(cfg, config.ListenSource(i, ""), labelRange)
	content, diags := b.Body.Content(listenSchema)
	if err := listen.CheckName(spec.Name); err != nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid listen name",
			Detail:   fmt.Sprintf("The program finds its sockets by name in LISTEN_FDNAMES: %v.", err),
			Subject:  labelRange.Ptr(),
		})
	}
	if a, ok := content.Attributes["address"]; ok {
		s, more := stringAttr(a)
		diags = append(diags, more...)
		if !more.HasErrors() {
			source(cfg, config.ListenSource(i, "address"), a.Expr.Range())
			if _, err := listen.ParseAddress(s); err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid listen address",
					Detail:   fmt.Sprintf("address must be \"HOST:PORT\" (an IP address: \"127.0.0.1:8080\", \"[::1]:8080\", \"0.0.0.0:80\") or \"unix:/PATH\"; %v.", err),
					Subject:  a.Expr.Range().Ptr(),
				})
			}
			spec.Address = s
		}
	}
	if a, ok := content.Attributes["backlog"]; ok {
		source(cfg, config.ListenSource(i, "backlog"), a.Expr.Range())
		v, more := a.Expr.Value(nil)
		diags = append(diags, more...)
		if !more.HasErrors() {
			n, err := backlogValue(v)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid backlog",
					Detail:   fmt.Sprintf("backlog must be a whole number from 1 to %d (leave it out for the kernel's limit, net.core.somaxconn); %v.", listen.MaxBacklog, err),
					Subject:  a.Expr.Range().Ptr(),
				})
			}
			spec.Backlog = n
		}
	}
	if a, ok := content.Attributes["mode"]; ok {
		source(cfg, config.ListenSource(i, "mode"), a.Expr.Range())
		s, more := stringAttr(a)
		diags = append(diags, more...)
		if !more.HasErrors() {
			n, err := pyrepr.Int(strings.TrimPrefix(strings.TrimSpace(s), "0o"), 8)
			switch {
			case err != nil || n < 0 || n > 0o777:
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid mode",
					Detail:   fmt.Sprintf("mode must be an octal string from \"000\" to \"777\", such as \"660\" (HCL numbers are decimal, so quote it); %q is not.", s),
					Subject:  a.Expr.Range().Ptr(),
				})
			case !strings.HasPrefix(spec.Address, "unix:"):
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Mode of a TCP socket",
					Detail:   "mode is the permission of a unix socket's file; a TCP address has none.",
					Subject:  a.Expr.Range().Ptr(),
				})
			case n&0o222 == 0:
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid mode",
					Detail:   fmt.Sprintf("mode %s lets nobody connect (connecting to a unix socket needs write permission); give at least the owner write permission, such as \"600\".", s),
					Subject:  a.Expr.Range().Ptr(),
				})
			default:
				spec.Mode = uint32(n)
			}
		}
	}
	cfg.Listen = append(cfg.Listen, spec)
	return diags
}

func backlogValue(v cty.Value) (int, error) {
	if v.IsNull() || !v.IsWhollyKnown() {
		return 0, fmt.Errorf("it has no value")
	}
	n, err := wholeNumber(v)
	if err != nil {
		return 0, err
	}
	if n < 1 || n > listen.MaxBacklog {
		return 0, fmt.Errorf("%d is out of range", n)
	}
	return n, nil
}

// checkListenSet reports listen blocks with the same name, or whose
// addresses are the same or overlap (a wildcard address and another one
// on the same port), at the second one.
func checkListenSet(cfg *config.Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	addrs := make([]listen.Address, len(cfg.Listen))
	ok := make([]bool, len(cfg.Listen))
	for i, s := range cfg.Listen {
		addrs[i], _ = listen.ParseAddress(s.Address)
		ok[i] = s.Address != "" && addrs[i].Network != ""
	}
	for i, s := range cfg.Listen {
		for j := range i {
			if s.Name == cfg.Listen[j].Name {
				rng := HCLRange(cfg.Sources[config.ListenSource(i, "")])
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate listen name",
					Detail:   fmt.Sprintf("The listen block %q is already defined on line %d; the program tells its sockets apart by name.", s.Name, cfg.Sources[config.ListenSource(j, "")].Start.Line),
					Subject:  &rng,
				})
				break
			}
			if ok[i] && ok[j] && overlap(addrs[i], addrs[j]) {
				rng := HCLRange(cfg.Sources[config.ListenSource(i, "address")])
				same := "the same address as"
				if addrs[i] != addrs[j] {
					same = "an address that overlaps"
				}
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate listen address",
					Detail:   fmt.Sprintf("%s is %s the listen block %q on line %d (%s): one address can be bound once.", addrs[i], same, cfg.Listen[j].Name, cfg.Sources[config.ListenSource(j, "address")].Start.Line, addrs[j]),
					Subject:  &rng,
				})
				break
			}
		}
	}
	return diags
}

// overlap says whether binding both a and b would conflict: the same
// address, or the same port where one of them is a wildcard of the
// other's family ([::] takes IPv4 too, as Linux binds it by default).
func overlap(a, b listen.Address) bool {
	if a.Network != b.Network {
		return false
	}
	if a.Network == "unix" {
		return a.Path == b.Path
	}
	if a.AddrPort.Port() != b.AddrPort.Port() {
		return false
	}
	x, y := a.AddrPort.Addr(), b.AddrPort.Addr()
	if x == y {
		return true
	}
	wild := func(w, o netip.Addr) bool {
		return w.IsUnspecified() && (w.Is6() || o.Is4())
	}
	return wild(x, y) || wild(y, x)
}

// CheckListen checks the job's listen addresses against this machine, as
// a manager about to bind them would find them: in use (something
// listens there), or not to be bound (no such local address, a path
// that is not a stale socket of ours). The errors point at the address.
// The caller skips this when the job's own manager runs (it holds them).
func CheckListen(c *config.Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for i, s := range c.Listen {
		src, ok := c.Sources[config.ListenSource(i, "address")]
		rng := HCLRange(src)
		if !ok {
			continue
		}
		if _, err := listen.ParseAddress(s.Address); err != nil {
			continue // reported when the file was read
		}
		err := listen.CheckFree(s)
		if err == nil {
			continue
		}
		summary := "Cannot listen on address"
		detail := fmt.Sprintf("The listen block %q cannot listen on %s: %v.", s.Name, s.Address, err)
		if errors.Is(err, listen.ErrInUse) {
			summary = "Listen address already in use"
			detail = fmt.Sprintf("Something else already listens on %s. Stop it, or choose another address for the listen block %q.", s.Address, s.Name)
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &rng})
	}
	return diags
}
