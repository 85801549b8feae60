package command

import (
	"fmt"
	"strings"
	"syscall"

	"github.com/hashicorp/hcl/v2"

	"github.com/zdaemon/zdaemon/core/daemon"
	"github.com/zdaemon/zdaemon/core/jobfile"
	"github.com/zdaemon/zdaemon/core/signame"
)

// listenDiags checks, before a manager starts, that the job's listen
// addresses are free, and renders what is not at its address attribute.
// A manager that answers on the job's socket holds them itself: then
// nothing is checked.
func (m *Meta) listenDiags() error {
	if len(m.Cfg.Listen) == 0 {
		return nil
	}
	if _, ok := m.probe(); ok || m.stalled != nil {
		return nil
	}
	diags := jobfile.CheckListen(m.Cfg)
	writeDiags(m.Err, m.Files, diags)
	if diags.HasErrors() {
		return &exitError{code: 2}
	}
	return nil
}

// startupDiag renders a manager's start-up error about one setting of the
// job file at that setting, as a diagnostic; false when it is about none
// the file gave.
func (m *Meta) startupDiag(se *daemon.StartupError) bool {
	src, ok := m.Cfg.Sources[se.Source]
	if se.Source == "" || !ok {
		return false
	}
	rng := jobfile.HCLRange(src)
	summary := "Cannot start the daemon manager"
	if strings.HasPrefix(se.Source, "listen/") {
		summary = "Cannot listen"
	}
	writeDiags(m.Err, m.Files, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   strings.TrimPrefix(se.Msg, "Error: ") + ".",
		Subject:  &rng,
	}})
	return true
}

// showListen lists the job's listen sockets for show: each name and
// address and descriptor, with the backlog and mode the job gives.
func (m *Meta) showListen() {
	if len(m.Cfg.Listen) == 0 {
		return
	}
	fmt.Fprintln(m.Out, "listen:")
	for i, s := range m.Cfg.Listen {
		line := fmt.Sprintf("    %s=%s (fd %d)", s.Name, s.Address, 3+i)
		if s.Backlog != 0 {
			line += fmt.Sprintf(" backlog=%d", s.Backlog)
		}
		if s.Mode != 0 {
			line += fmt.Sprintf(" mode=%04o", s.Mode)
		}
		fmt.Fprintln(m.Out, line)
	}
}

// showSignals shows stop-signal and reload-signal when the job changed
// them.
func (m *Meta) showSignals() {
	for _, r := range []struct {
		name     string
		sig, def syscall.Signal
	}{{"stopsignal", m.Cfg.StopSignal, syscall.SIGTERM}, {"reloadsignal", m.Cfg.ReloadSignal, syscall.SIGHUP}} {
		if r.sig != 0 && r.sig != r.def {
			fmt.Fprintf(m.Out, "%-13s %s\n", r.name+":", signame.ClientName(r.sig))
		}
	}
}
