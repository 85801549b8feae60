//go:build unix

package pluginhost

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/plugins/transcript"
)

// Handover is what a manager that upgrades in place hands the next one of
// a running plugin: its process (which stays the manager's child across
// execve) and where it serves go-plugin's gRPC, for go-plugin's reattach.
// The read ends of its stdout and stderr are handed over beside it, so
// that its log lines still reach the event log.
type Handover struct {
	Pid      int    `json:"pid"`
	Network  string `json:"network"`
	Addr     string `json:"addr"`
	Protocol int    `json:"protocol"` // the kind's protocol version spoken
	Restarts int    `json:"restarts"`
	// Earlier is what the sink's dead instances had written (see
	// Sink.Status), so the count goes on from there.
	Earlier uint64 `json:"earlier,omitempty"`
}

// Handover returns the running sink for the next manager; ok is false
// when none runs (it is being restarted): the next manager then starts
// one on the same pipe.
func (s *Sink) Handover() (h Handover, stdout, stderr *os.File, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || s.cur.rr == nil || s.cur.client.ReattachConfig() == nil {
		return Handover{}, nil, nil, false
	}
	addr := s.cur.client.ReattachConfig().Addr
	h = Handover{Pid: s.cur.rr.pid, Network: addr.Network(), Addr: addr.String(),
		Protocol: s.cur.protocol, Restarts: s.restarts, Earlier: s.earlier}
	return h, s.cur.rr.stdout.f, s.cur.rr.stderr.f, true
}

// AdoptSink re-attaches to the sink a previous manager handed over (proc
// is its process, adopted by the reaper) and supervises it as StartSink
// does; input is the read end of the same pipe.
func (h *Host) AdoptSink(spec Spec, cfg transcript.Config, input *os.File, st Handover, proc *child.Process, stdout, stderr *os.File) (*Sink, error) {
	s := h.newSink(spec, cfg, input)
	l, err := h.reattach("transcript", spec, st, proc, stdout, stderr)
	if err != nil {
		return nil, err
	}
	s.cur, s.restarts, s.earlier = l, st.Restarts, st.Earlier
	go s.supervise(time.Now())
	return s, nil
}

// reattach connects to a running plugin through go-plugin's reattach.
func (h *Host) reattach(kind string, spec Spec, st Handover, proc *child.Process, stdout, stderr *os.File) (*launched, error) {
	k := kinds[kind]
	set, ok := k.sets[st.Protocol]
	if !ok {
		return nil, fmt.Errorf("re-attach %s plugin %s: protocol version %d is not one this manager speaks", kind, spec, st.Protocol)
	}
	if st.Network != "unix" {
		return nil, fmt.Errorf("re-attach %s plugin %s: it serves on %s, not a unix socket", kind, spec, st.Network)
	}
	cmd, err := h.command(kind, spec)
	if err != nil {
		return nil, err
	}
	rr := &groupRunner{cmd: cmd, pid: proc.Pid(),
		stdout: &pipeEnd{f: stdout, keep: keepFirstLine}, stderr: &pipeEnd{f: stderr, keep: keepLastLine},
		exited: make(chan struct{})}
	go func() {
		rr.status = <-proc.Done()
		rr.end()
		close(rr.exited)
	}()
	logger := hclogger(h.logger(), kind+"."+spec.Kind)
	// go-plugin reads a plugin's output only when it started it: here we
	// do, stdout to nowhere, stderr into the event log.
	go func() { _, _ = io.Copy(io.Discard, rr.stdout) }()
	go forwardLog(rr.stderr, logger)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  k.handshake,
		Plugins:          set,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           logger,
		Reattach: &plugin.ReattachConfig{
			Protocol:        plugin.ProtocolGRPC,
			ProtocolVersion: st.Protocol,
			Addr:            &net.UnixAddr{Name: st.Addr, Net: "unix"},
			Pid:             rr.pid,
			ReattachFunc:    func() (runner.AttachedRunner, error) { return rr, nil },
		},
	})
	l := &launched{client: client, exited: rr.exited, pid: strconv.Itoa(rr.pid), rr: rr, protocol: st.Protocol,
		socketDir: h.ownSocketDir(st.Addr)}
	rpc, err := client.Client()
	if err != nil {
		l.kill()
		return nil, fmt.Errorf("re-attach %s plugin %s (pid %d): %w", kind, spec, rr.pid, err)
	}
	if l.raw, err = rpc.Dispense(k.name); err != nil {
		l.kill()
		return nil, fmt.Errorf("re-attach %s plugin %s (pid %d): dispense: %w", kind, spec, rr.pid, err)
	}
	return l, nil
}

// ownSocketDir is the directory go-plugin made for the socket at addr
// when it started the plugin (plugin-dirNNN), if it is one in SocketDir
// or in SocketDir's parent, the job's directory, where managers made them
// before each had a subdirectory of its own there (a plugin started by
// one of those and re-attached to after an upgrade): what to remove when
// the re-attached plugin ends. "" for anything else (a plugin a manager
// started with another SocketDir, or none).
func (h *Host) ownSocketDir(addr string) string {
	if h.SocketDir == "" {
		return ""
	}
	dir := filepath.Dir(filepath.Clean(addr))
	in, ours := filepath.Dir(dir), filepath.Clean(h.SocketDir)
	if in != ours && in != filepath.Dir(ours) || !strings.HasPrefix(filepath.Base(dir), "plugin-dir") {
		return ""
	}
	return dir
}

// forwardLog logs what a re-attached plugin writes on stderr: hclog's
// JSON lines at their level, anything else as it is.
func forwardLog(r io.Reader, logger hclog.Logger) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var entry struct {
			Level   string `json:"@level"`
			Message string `json:"@message"`
		}
		if json.Unmarshal(line, &entry) != nil || entry.Message == "" {
			logger.Debug(string(line))
			continue
		}
		logger.Log(hclog.LevelFromString(entry.Level), entry.Message)
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		logger.Debug("plugin stderr: " + err.Error())
	}
}

var _ runner.AttachedRunner = (*groupRunner)(nil)
