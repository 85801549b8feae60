package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/zdaemon/zdaemon/core/backoff"
	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/plugins/healthcheck"
	"github.com/zdaemon/zdaemon/plugins/schema"
	"github.com/zdaemon/zdaemon/plugins/transcript"
)

// Spec names a plugin.
type Spec struct {
	// Kind is the block's label ("file").
	Kind string
	// Path is an external plugin's executable; "" means built-in.
	Path string
}

func (s Spec) String() string {
	if s.Path != "" {
		return fmt.Sprintf("%s (%s)", s.Kind, s.Path)
	}
	return s.Kind
}

// Host starts plugins.
type Host struct {
	// Exe is the manager with the plugin host (zdrun-plugins), which
	// serves the built-in plugins when re-executed as "EXE plugin KIND
	// NAME".
	Exe string
	// Reaper starts plugin processes in the manager; nil (in the client)
	// means os/exec.
	Reaper *child.Reaper
	Logger *slog.Logger
	// StartTimeout bounds a plugin's handshake.
	StartTimeout time.Duration
	// SocketDir is where the plugins' gRPC sockets go: go-plugin makes a
	// plugin-dirNNN directory in it for each plugin it starts, and
	// removes it when the plugin ends. "" means go-plugin's default,
	// $TMPDIR.
	SocketDir string
}

// command builds the plugin's command line.
func (h *Host) command(kind string, spec Spec) (*exec.Cmd, error) {
	if spec.Path != "" {
		return exec.Command(spec.Path), nil
	}
	if h.Exe == "" {
		return nil, errors.New("no executable for built-in plugins")
	}
	return exec.Command(h.Exe, "plugin", kind, spec.Kind), nil
}

// launched is one running plugin process.
type launched struct {
	client *plugin.Client
	raw    any
	// exited is closed when the process dies; only plugins started
	// through the Reaper (the supervised ones) have it.
	exited <-chan struct{}
	pid    string
	// rr is the runner of a supervised plugin, and protocol the version
	// of its kind's protocol spoken (for a hand-over).
	rr       *groupRunner
	protocol int
	// socketDir is the plugin-dirNNN of a re-attached plugin, which its
	// go-plugin client does not know (it removes only the ones it made);
	// "" for the others.
	socketDir string
}

// kill ends the plugin's process (see plugin.Client.Kill) and removes
// its socket directory.
func (l *launched) kill() {
	l.client.Kill()
	if l.socketDir != "" {
		_ = os.RemoveAll(l.socketDir)
	}
}

// kinds are the plugin kinds: how each is found on the wire.
var kinds = map[string]struct {
	handshake plugin.HandshakeConfig
	sets      map[int]plugin.PluginSet
	name      string
	// deathSignal is what the plugin gets when its manager (or client)
	// dies. A sink gets SIGTERM: it then writes what is left in the pipe
	// up to its end and exits (transcript.Serve); checks just die.
	deathSignal syscall.Signal
}{
	"transcript":  {transcript.Handshake, transcript.PluginSets(nil), transcript.PluginName, syscall.SIGTERM},
	"healthcheck": {healthcheck.Handshake, healthcheck.PluginSets(nil), healthcheck.PluginName, syscall.SIGKILL},
}

// launch starts a plugin process of a kind ("transcript", "healthcheck")
// and dispenses its plugin; extra become its descriptors 3...
func (h *Host) launch(kind string, spec Spec, extra []*os.File) (*launched, error) {
	k := kinds[kind]
	cmd, err := h.command(kind, spec)
	if err != nil {
		return nil, err
	}
	logger := h.logger()
	cfg := &plugin.ClientConfig{
		HandshakeConfig:  k.handshake,
		VersionedPlugins: k.sets,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclogger(logger, kind+"."+spec.Kind),
		StartTimeout:     h.StartTimeout,
	}
	if h.SocketDir != "" {
		cfg.UnixSocketConfig = &plugin.UnixSocketConfig{TempDir: h.SocketDir}
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	spawn := execSpawn
	if h.Reaper != nil {
		spawn = reaperSpawn(h.Reaper)
	}
	rr := &groupRunner{extra: extra, spawn: spawn, deathSignal: k.deathSignal}
	cfg.RunnerFunc = wrapRunner(func(_ hclog.Logger, c *exec.Cmd, _ string) (runner.Runner, error) {
		rr.cmd = c
		return rr, nil
	}, cmd)
	client := plugin.NewClient(cfg)
	rpc, err := client.Client()
	if err != nil {
		client.Kill() // returns once the plugin's group is dead and its pipes are read
		return nil, startError(h.pluginName(kind, spec), rr, err, cfg.StartTimeout, slices.Sorted(maps.Keys(k.sets)))
	}
	raw, err := rpc.Dispense(k.name)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("dispense %s plugin %s: %w", kind, spec, err)
	}
	var supervised *groupRunner
	if h.Reaper != nil {
		supervised = rr
	}
	return &launched{client: client, raw: raw, exited: rr.exited, pid: rr.ID(), rr: supervised, protocol: client.NegotiatedVersion()}, nil
}

// pluginName names a plugin in messages: an external one by its path.
func (h *Host) pluginName(kind string, spec Spec) string {
	if spec.Path != "" {
		return spec.Path
	}
	return fmt.Sprintf("built-in %s %s", kind, spec.Kind)
}

// StartError is a plugin that did not start: it could not be run, exited,
// printed something else than go-plugin's handshake or nothing in time.
type StartError struct {
	// Plugin is the plugin's executable (or "built-in transcript file").
	Plugin string
	// Reason says, in plain words, what happened.
	Reason string
}

func (e *StartError) Error() string {
	return fmt.Sprintf("plugin %s did not start: %s", e.Plugin, e.Reason)
}

// startError explains a failed go-plugin start from what the runner saw.
// Call it after the client was killed: the runner then knows how the
// process ended and everything it printed.
func startError(name string, rr *groupRunner, err error, timeout time.Duration, versions []int) error {
	if rr.stdout == nil { // never started
		return &StartError{Plugin: name, Reason: err.Error()}
	}
	line := strings.TrimSpace(rr.stdout.firstLine())
	var reason string
	switch {
	case line != "" && !handshakeLine.MatchString(line):
		reason = fmt.Sprintf("it printed %s instead of the go-plugin handshake", strconv.Quote(clip(line)))
	case line != "":
		// A handshake go-plugin refused (another protocol version):
		// go-plugin's own words say which, with our versions in order
		// (go-plugin lists them in map order).
		msg, _, _ := strings.Cut(err.Error(), "\n")
		if f := strings.Split(line, "|"); strings.HasPrefix(msg, "incompatible API version") {
			msg = fmt.Sprintf("incompatible API version with plugin. Plugin version: %s, Client versions: %v", f[1], versions)
		}
		reason = msg
	case !rr.killed.Load() || rr.status.Signal != syscall.SIGKILL:
		// It ended by itself, not by our SIGKILL.
		reason = fmt.Sprintf("it ended (%s) before the go-plugin handshake", rr.status)
	case rr.stdout.eof.Load():
		reason = "it closed its stdout without printing the go-plugin handshake"
	default:
		reason = fmt.Sprintf("it printed no go-plugin handshake within %v", timeout)
	}
	if last := strings.TrimSpace(rr.stderr.lastLine()); last != "" {
		reason += fmt.Sprintf("; its last words on stderr: %s", strconv.Quote(clip(plainWords(last))))
	}
	return &StartError{Plugin: name, Reason: reason}
}

// handshakeLine is the start of go-plugin's handshake: core and app
// protocol versions.
var handshakeLine = regexp.MustCompile(`^\d+\|\d+\|`)

// clip shortens what a plugin printed for a message.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// plainWords is a line a plugin wrote on stderr as a person reads it: an
// hclog JSON line (go-plugin's own "plugin init error", or the plugin's
// logger) as its message, then its error and its other fields, without
// the level and the time; any other line as it is.
func plainWords(line string) string {
	var entry map[string]any
	if json.Unmarshal([]byte(line), &entry) != nil {
		return line
	}
	msg, ok := entry["@message"].(string)
	if !ok {
		return line
	}
	if e, ok := entry["error"]; ok {
		msg += fmt.Sprintf(": %v", e)
	}
	for _, k := range slices.Sorted(maps.Keys(entry)) {
		if k != "error" && !strings.HasPrefix(k, "@") {
			msg += fmt.Sprintf(" %s=%v", k, entry[k])
		}
	}
	return msg
}

// wrapRunner hands the runner our command (path, args) instead of the one
// go-plugin would build from a nil Cmd.
func wrapRunner(f func(hclog.Logger, *exec.Cmd, string) (runner.Runner, error), ours *exec.Cmd) func(hclog.Logger, *exec.Cmd, string) (runner.Runner, error) {
	return func(l hclog.Logger, c *exec.Cmd, dir string) (runner.Runner, error) {
		if c == nil {
			c = ours
		} else {
			c.Path, c.Args = ours.Path, ours.Args
		}
		return f(l, c, dir)
	}
}

// Describe launches a throw-away instance of a plugin of kind to get its
// schema and a validator (for checking a job file); kill ends it.
func (h *Host) Describe(ctx context.Context, kind string, spec Spec) (sch schema.Schema, validate func(schema.Config) []schema.FieldError, kill func(), err error) {
	l, err := h.launch(kind, spec, nil)
	if err != nil {
		return schema.Schema{}, nil, nil, err
	}
	d := l.raw.(schema.Base) // what every plugin kind answers
	if sch, err = d.Schema(ctx); err != nil {
		l.kill()
		return schema.Schema{}, nil, nil, callError(h.pluginName(kind, spec), "describe its configuration", err)
	}
	validate = func(cfg schema.Config) []schema.FieldError { return d.Validate(ctx, cfg) }
	return sch, validate, l.kill, nil
}

// Sink is a supervised transcript-sink plugin: started again, on the same
// input, when its process dies, after the back-off of
// backoff.SinkRestart. Nothing in it polls: it waits for the reaper's
// exit notification, the restart timer, or the call it serves.
type Sink struct {
	host  *Host
	spec  Spec
	cfg   transcript.Config
	input *os.File
	log   *slog.Logger
	name  string // the plugin, in messages

	mu       sync.Mutex
	cur      *launched
	restarts int
	closed   bool
	// earlier is what the dead instances last reported they had written,
	// reported the most the current one did: a restarted sink counts
	// from 0, and Status adds the two (see Status).
	earlier, reported uint64
	// changed is closed (and replaced) whenever cur changes or the sink
	// is closed: what a Drain during a restart waits for.
	changed chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// StartSink launches a sink on input (the read end of the output pipe,
// which the caller keeps open) and supervises it.
func (h *Host) StartSink(ctx context.Context, spec Spec, cfg transcript.Config, input *os.File) (*Sink, error) {
	if h.Reaper == nil {
		return nil, errors.New("supervised plugins need the manager's reaper")
	}
	s := h.newSink(spec, cfg, input)
	l, err := s.start(ctx)
	if err != nil {
		return nil, err
	}
	s.cur = l
	go s.supervise(time.Now())
	return s, nil
}

func (h *Host) newSink(spec Spec, cfg transcript.Config, input *os.File) *Sink {
	return &Sink{host: h, spec: spec, cfg: cfg, input: input, log: h.logger(), name: h.pluginName("transcript", spec),
		changed: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
}

// logger is the host's logger, or one that discards.
func (h *Host) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

func (s *Sink) start(ctx context.Context) (*launched, error) {
	l, err := s.host.launch("transcript", s.spec, []*os.File{s.input})
	if err != nil {
		return nil, err
	}
	if err := l.raw.(transcript.Sink).Start(ctx, s.cfg, nil); err != nil {
		l.kill()
		return nil, callError(s.name, "start copying", err)
	}
	return l, nil
}

// setCur replaces the running instance and wakes whoever waits for that;
// s.mu is held.
func (s *Sink) setCur(l *launched) {
	s.cur = l
	close(s.changed)
	s.changed = make(chan struct{})
}

// supervise restarts the sink whenever its process exits, until Close.
// A healthy sink wakes this goroutine up never.
func (s *Sink) supervise(started time.Time) {
	defer close(s.done)
	var streak backoff.Streak
	for {
		s.mu.Lock()
		cur := s.cur
		s.mu.Unlock()
		select {
		case <-s.stop:
			return
		case <-cur.exited:
		}
		ran := time.Since(started)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		s.log.Error(fmt.Sprintf("transcript sink %s (pid %s) died; restarting it on the same pipe", s.spec, cur.pid))
		cur.kill()
		s.setCur(nil)
		s.earlier, s.reported = s.earlier+s.reported, 0
		s.mu.Unlock()
		for {
			var delay time.Duration
			delay, streak = backoff.SinkRestart.Next(streak, ran)
			timer := time.NewTimer(delay)
			select {
			case <-s.stop:
				timer.Stop()
				return
			case <-timer.C:
			}
			l, err := s.start(context.Background())
			if err != nil {
				s.log.Error(fmt.Sprintf("restart transcript sink: %v", err))
				ran = 0
				continue
			}
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				l.kill()
				return
			}
			s.setCur(l)
			s.restarts++
			s.mu.Unlock()
			started = time.Now()
			break
		}
	}
}

// errRestarting is the reason of a call made while no sink runs.
const errRestarting = "it is being restarted after it died"

func (s *Sink) current(call string) (transcript.Sink, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil, &CallError{Plugin: s.name, Call: call, Reason: errRestarting}
	}
	return s.cur.raw.(transcript.Sink), nil
}

// Reopen asks the sink to reopen its destination. A call that ctx ends
// says why (its cause), not that the plugin went away.
func (s *Sink) Reopen(ctx context.Context) error {
	const call = "reopen its destination"
	sink, err := s.current(call)
	if err != nil {
		return err
	}
	return callEnded(ctx, s.name, call, sink.Reopen(ctx))
}

// Status reports the sink's progress. BytesWritten counts from the
// first instance: it adds what the instances that died last reported, so
// it never goes down across restarts (it lags by what a dead instance
// wrote after its last report).
func (s *Sink) Status(ctx context.Context) (transcript.Status, error) {
	const call = "report its status"
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	if cur == nil {
		return transcript.Status{}, &CallError{Plugin: s.name, Call: call, Reason: errRestarting}
	}
	st, err := cur.raw.(transcript.Sink).Status(ctx)
	if err != nil {
		return st, callError(s.name, call, err)
	}
	return s.account(cur, st), nil
}

// account makes an instance's report count from the first instance.
func (s *Sink) account(l *launched, st transcript.Status) transcript.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != l {
		// An instance already counted as dead: what is known.
		st.BytesWritten = s.earlier + s.reported
		return st
	}
	s.reported = max(s.reported, st.BytesWritten)
	st.BytesWritten = s.earlier + s.reported
	return st
}

// Info describes the running sink for "show": kind, pid, restarts.
func (s *Sink) Info() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	pid := "-"
	if s.cur != nil {
		pid = s.cur.pid
	}
	return fmt.Sprintf("transcript %s pid=%s restarts=%d", strings.TrimSpace(s.spec.String()), pid, s.restarts)
}

// Pids are the sink's process (group) ids, for sparing them in sweeps.
func (s *Sink) Pids() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil
	}
	return []int{atoi(s.cur.pid)}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// Drain waits until the sink has written everything (every writer of the
// pipe must be closed first). A sink that dies meanwhile is started again
// on the same pipe and drains from where it stopped: Drain waits for that
// (no polling) and asks again. An error the sink itself returns, or ctx
// ending, ends it.
func (s *Sink) Drain(ctx context.Context) (transcript.Status, error) {
	const call = "write what is left in the pipe"
	for {
		s.mu.Lock()
		cur, changed, closed := s.cur, s.changed, s.closed
		s.mu.Unlock()
		if closed {
			return transcript.Status{}, &CallError{Plugin: s.name, Call: call, Reason: "it was stopped"}
		}
		if cur != nil {
			st, err := cur.raw.(transcript.Sink).Drain(ctx)
			var ce *schema.CallError
			switch {
			case err == nil:
				return s.account(cur, st), nil
			case ctx.Err() != nil:
				return st, &CallError{Plugin: s.name, Call: call, Reason: "it did not finish in time", err: err}
			case errors.As(err, &ce) && ce.Own:
				return st, callError(s.name, call, err)
			}
			// It went away: wait until the supervisor has seen it die.
			select {
			case <-cur.exited:
			case <-ctx.Done():
				return st, &CallError{Plugin: s.name, Call: call, Reason: "it did not finish in time", err: err}
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return transcript.Status{}, &CallError{Plugin: s.name, Call: call, Reason: "it was being restarted when the time ran out", err: ctx.Err()}
		}
	}
}

// Close kills the sink process and stops supervising.
func (s *Sink) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.stop)
	cur := s.cur
	s.setCur(nil)
	s.mu.Unlock()
	<-s.done
	if cur != nil {
		cur.kill()
	}
}

// Restarts is how often the sink was started again.
func (s *Sink) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}
