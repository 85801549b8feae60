package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/handover"
	"github.com/zdaemon/zdaemon/core/listen"
)

// Trampoline is the exec trampoline's file name, beside the manager
// executable (cmd/zdexec).
const Trampoline = "zdexec"

// heldSockets are the job's listen sockets, held for the manager's life,
// and what the program gets of them.
type heldSockets struct {
	set *listen.Set
	// trampoline is zdexec's path; "" without listen sockets, when the
	// program is executed directly.
	trampoline string
}

// listenError is a start-up error at a listen block's attribute.
type listenError struct {
	source string // a config.Sources key
	msg    string
}

// holdListen binds the job's listen sockets (none: nothing to hold).
// A manager that took over from another (in) keeps the sockets it held.
func holdListen(cfg *config.Config, exe string, progFiles []*os.File, in *handover.In) (*heldSockets, *listenError) {
	h := &heldSockets{}
	if len(cfg.Listen) == 0 {
		return h, nil
	}
	tr := filepath.Join(filepath.Dir(exe), Trampoline)
	if st, err := os.Stat(tr); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, &listenError{source: config.ListenSource(0, ""),
			msg: fmt.Sprintf("Error: cannot find the exec trampoline %s next to %s (it sets LISTEN_PID for a program with listen sockets); install it beside zdrun", Trampoline, exe)}
	}
	for i, f := range progFiles {
		if i < len(cfg.Listen) && f != nil {
			return nil, &listenError{source: config.ListenSource(i, ""),
				msg: fmt.Sprintf("Error: descriptor %d is both the listen socket %q and the notify check's fd; the listen sockets take 3 to %d, so give the check an fd above them", 3+i, cfg.Listen[i].Name, 2+len(cfg.Listen))}
		}
	}
	set, err := adoptListen(in, cfg.Listen)
	if set == nil && err == nil {
		set, err = listen.Bind(cfg.Listen)
	}
	if err != nil {
		src := ""
		if be, ok := err.(*listen.BindError); ok {
			src = config.ListenSource(be.Index, "address")
		}
		return nil, &listenError{source: src, msg: "Error: " + err.Error()}
	}
	h.set, h.trampoline = set, tr
	return h, nil
}

// files are the program's descriptors from 3 on: the listen sockets, then
// the other descriptors it gets (progFiles counts from 3 too).
func (h *heldSockets) files(progFiles []*os.File) []*os.File {
	socks := h.set.Files()
	if len(socks) == 0 {
		return progFiles
	}
	out := slices.Clone(socks)
	if len(progFiles) > len(socks) {
		out = append(out, progFiles[len(socks):]...)
	}
	return out
}

// env is the program's environment: with listen sockets, socket
// activation's variables of the manager's own environment dropped and
// the sockets' added; without, unchanged.
func (h *heldSockets) env(env []string) []string {
	names := h.set.Names()
	if len(names) == 0 {
		return env
	}
	env = slices.DeleteFunc(env, func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(listen.EnvNames, name)
	})
	return append(env, listen.Env(names)...)
}

// close closes the sockets and removes the unix socket files; safe to
// call more than once.
func (h *heldSockets) close() {
	if h != nil {
		_ = h.set.Close()
	}
}
