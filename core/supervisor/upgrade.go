package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zdaemon/zdaemon/core/child"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/control"
	"github.com/zdaemon/zdaemon/core/daemon"
	"github.com/zdaemon/zdaemon/core/earlysignals"
	"github.com/zdaemon/zdaemon/core/eventlog"
	"github.com/zdaemon/zdaemon/core/handover"
	"github.com/zdaemon/zdaemon/core/listen"
	"github.com/zdaemon/zdaemon/core/manager"
	"github.com/zdaemon/zdaemon/core/signame"
)

// Upgrading the manager in place ("zdaemon upgrade"): the manager asks
// the manager executable now installed at the path it was started from
// (zdrun, or zdrun-plugins for a job with plugins) whether it can take
// over (a separate process in check mode, "zdrun --can-adopt", reading
// the state record on descriptor 3), then stops accepting connections and
// re-executes it with execve, from the main thread (see core/child),
// keeping its pid and therefore its children. The new manager
// ("zdrun --upgraded FD") reads the record and takes every part back.
//
// The parts and their names are all here: registerParts says what each
// hands over, the adopt* functions (and the parts' constructors, given
// the *handover.In) take it back. A part added later registers its hand
// function in registerParts, adds its names to knownNames, and takes its
// descriptors back with in.File where it would open them.

// knownNames are the parts and descriptors this manager takes over; a
// record with any other is refused by the check mode.
var knownNames = handover.Known(
	"config", "manager", "control", "transcript", "client",
	"transcript:read", "transcript:write", "transcript:sink-stdout", "transcript:sink-stderr",
	"notify:", "listen:", "listen", "await:", "eventlog:", "metrics",
)

// checkTimeout bounds the check mode's answer.
const checkTimeout = 10 * time.Second

// upgradeSignals are the signals that shut the manager down
// (earlysignals.Shutdown). Those that arrive before the snapshot are
// handed over in it; one that arrives after it ends the upgrade, and this
// manager acts on it. From just before the execve they are ignored until
// the new manager's first package init subscribes them: a Go program's
// handlers are gone across the execve, and their default would kill the
// new manager and, by its death signal, the program.
var upgradeSignals = earlysignals.Shutdown

// upgrader implements manager.Upgrader for one job.
type upgrader struct {
	exe, version string
	from         string // the version this manager took over from, if any
	reaper       *child.Reaper
	log          *slog.Logger
	parts        handover.Registry
	sockets      *socketKeeper
	// sigc receives the shutdown signals (runGroup's); deliver passes
	// one on to the manager.
	sigc    chan os.Signal
	deliver func(os.Signal)
	// checks are the check plugins, killed before the execve (the next
	// manager starts its own); nil without checks.
	checks Prober
}

// registerParts is where every part that survives an upgrade says what it
// hands over.
func (u *upgrader) registerParts(cfg *config.Config, elog *eventlog.Log, tr *transcriptPipe, checks *jobChecks, held *heldSockets) {
	u.parts.Add("configuration", func(out *handover.Out) error { return out.State("config", cfg) })
	u.parts.Add("event log", func(out *handover.Out) error {
		for i, f := range elog.Files() {
			out.File(eventLogName(i), f)
		}
		return nil
	})
	u.parts.Add("control socket", u.sockets.hand)
	if tr != nil {
		u.parts.Add("transcript", tr.hand)
	}
	u.parts.Add("notification endpoints", checks.hand)
	u.parts.Add("listen sockets", held.hand)
	u.checks = checks.prober
}

// Check runs the new executable in check mode on the record this manager
// would hand over.
func (u *upgrader) Check(ctx context.Context) error {
	out := handover.NewOut(u.version)
	defer out.Discard()
	if err := u.parts.Collect(out); err != nil {
		return err
	}
	if err := out.State("manager", manager.Handover{}); err != nil {
		return err
	}
	out.File("client", os.Stdin) // the name only: nothing is inherited here
	rec, err := out.Marshal()
	if err != nil {
		return err
	}
	return runCheck(ctx, u.reaper, u.exe, rec)
}

// runCheck runs "exe --can-adopt" with rec on its descriptor 3 and
// returns why it cannot take over, or nil.
func runCheck(ctx context.Context, reaper *child.Reaper, exe string, rec []byte) error {
	recR, recW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("check pipe: %w", err)
	}
	defer recR.Close()
	defer recW.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("check pipe: %w", err)
	}
	defer outR.Close()
	proc, err := reaper.Start(child.Spec{
		Path: exe, Argv: []string{exe, "--can-adopt"}, Env: os.Environ(),
		Stdout: outW, Stderr: outW, Extra: []*os.File{recR}, DeathSignal: syscall.SIGKILL,
	})
	outW.Close()
	if err != nil {
		return fmt.Errorf("the new manager executable cannot be run: %v", err)
	}
	recR.Close()
	go func() { _, _ = recW.Write(rec); recW.Close() }()
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	_ = outR.SetReadDeadline(time.Now().Add(checkTimeout))
	answer, _ := io.ReadAll(io.LimitReader(outR, 64*1024))
	var st child.ExitStatus
	select {
	case st = <-proc.Done():
	case <-ctx.Done():
		_ = proc.Signal(syscall.SIGKILL, true)
		st = <-proc.Done()
		return fmt.Errorf("the new manager %s did not answer within %v whether it can take over", exe, checkTimeout)
	}
	words := lastLine(answer)
	switch {
	case st.Code == 0 && strings.HasPrefix(words, "ok"):
		return nil
	case strings.HasPrefix(string(answer), "Usage: zdrun"):
		return fmt.Errorf("the new manager %s does not know how to take over (it has no --can-adopt: an older zdrun)", exe)
	case st.Code == 1 && words != "":
		return fmt.Errorf("the new manager %s cannot take over: %s", exe, words)
	case words != "":
		return fmt.Errorf("the new manager %s failed its check (%s): %s", exe, st, words)
	}
	return fmt.Errorf("the new manager %s ended (%s) without saying whether it can take over", exe, st)
}

func lastLine(b []byte) string {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return string(b)
}

// CanAdopt is the check mode ("zdrun --can-adopt"): it reads the record
// from r and says on w whether this manager can take it over (exit status
// 0) or why not (1). withPlugins says whether this executable hosts
// plugins (zdrun-plugins); zdrun refuses a job that has some.
func CanAdopt(r io.Reader, w io.Writer, version string, withPlugins bool) int {
	rec, err := handover.ParseRecord(r)
	if err == nil {
		err = rec.Check(knownNames)
	}
	if err == nil && !withPlugins {
		var cfg config.Config
		if raw, ok := rec.Parts["config"]; ok && json.Unmarshal(raw, &cfg) == nil && daemon.NeedsPlugins(&cfg) {
			err = fmt.Errorf("this job has plugins, which %s runs, not this executable", daemon.PluginsName)
		}
	}
	if err != nil {
		fmt.Fprintln(w, err)
		return 1
	}
	fmt.Fprintf(w, "ok version=%s record=%d\n", version, rec.Version)
	return 0
}

// Exec hands everything over and re-executes the manager. It runs on the
// manager's loop; it returns only when the execve failed, or a shutdown
// signal arrived after the snapshot (then delivered to this manager),
// having undone what it did.
func (u *upgrader) Exec(ctx context.Context, state func() manager.Handover) error {
	// What arrived before: the manager's queue, where snapshot finds it.
	for _, sig := range pendingSignals(u.sigc) {
		u.deliver(sig)
	}
	out := handover.NewOut(u.version)
	fail := func(err error) error {
		out.Discard()
		signal.Notify(u.sigc, upgradeSignals...)
		return err
	}
	if c := control.Conn(ctx); c != nil {
		if f, err := c.File(); err == nil {
			out.FileOwned("client", f)
		}
	}
	if err := u.parts.Collect(out); err != nil {
		return fail(err)
	}
	snap := state()
	for i, w := range snap.Waiters {
		if f, err := w.Conn.File(); err == nil {
			out.FileOwned(fmt.Sprintf("await:%d", i), f)
		}
	}
	if err := out.State("manager", snap); err != nil {
		return fail(err)
	}
	u.log.Info(fmt.Sprintf("upgrading: re-executing %s (this manager: %s)", u.exe, u.version))
	if u.checks != nil {
		u.checks.Suspend()
	}
	var late []os.Signal
	err := child.Exec(u.exe, os.Environ(), func() ([]string, func(), error) {
		fd, undo, err := out.Inherit()
		if err != nil {
			return nil, nil, err
		}
		signal.Ignore(upgradeSignals...) // until the new manager subscribes them
		if late = pendingSignals(u.sigc); len(late) > 0 {
			undo()
			return nil, nil, fmt.Errorf("%s arrived during the upgrade", signame.ManagerNameOf(late[0]))
		}
		return []string{u.exe, "--upgraded", strconv.Itoa(fd)}, undo, nil
	})
	for _, sig := range late { // after the snapshot: ours to act on
		u.deliver(sig)
	}
	return fail(err)
}

// pendingSignals takes what waits in c.
func pendingSignals(c <-chan os.Signal) []os.Signal {
	var sigs []os.Signal
	for {
		select {
		case sig := <-c:
			sigs = append(sigs, sig)
		default:
			return sigs
		}
	}
}

// quiesceWait bounds how long an upgrade waits for the requests of
// connections accepted before the pause.
const quiesceWait = time.Second

// Pause stops the control servers' accept loops and the watch of the
// socket's path, then waits (at most quiesceWait) until the requests of
// the connections accepted before are answered: only those that wait in
// "await", which are handed over, and the upgrade's own are left. A
// client that connected and said nothing for that long loses its
// connection at the execve.
func (u *upgrader) Pause(ctx context.Context) (resume func()) {
	resume = u.sockets.pause()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), quiesceWait)
	defer cancel()
	if n := u.sockets.quiesce(wctx, control.Conn(ctx)); n > 0 {
		u.log.Warn(fmt.Sprintf("upgrading with %d control connection(s) still unanswered after %v; their clients see the connection closed", n, quiesceWait))
	}
	return resume
}

// --- the parts ------------------------------------------------------------

// hand gives the next manager the control socket that is ours.
func (k *socketKeeper) hand(out *handover.Out) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	srv := k.servers[len(k.servers)-1]
	f, h, err := srv.File()
	if err != nil {
		return err
	}
	out.FileOwned("control", f)
	return out.State("control", h)
}

// pause stops every server's accept loop (connections wait in the
// socket's backlog) and the watch of the path, and returns what resumes
// them.
func (k *socketKeeper) pause() (resume func()) {
	k.mu.Lock()
	servers := append([]*control.Server(nil), k.servers...)
	k.mu.Unlock()
	for _, s := range servers {
		s.Pause()
	}
	k.unwatch()
	return func() {
		k.mu.Lock()
		for _, s := range servers {
			s.Resume()
			if !k.closed {
				k.serve(s)
			}
		}
		k.mu.Unlock()
		k.watch()
	}
}

// quiesce waits for every server's connections (see control.Server.Quiesce).
func (k *socketKeeper) quiesce(ctx context.Context, except *net.UnixConn) int {
	k.mu.Lock()
	servers := append([]*control.Server(nil), k.servers...)
	k.mu.Unlock()
	n := 0
	for _, s := range servers {
		n += s.Quiesce(ctx, except)
	}
	return n
}

// eventLogName names the file of the event log's i-th target.
func eventLogName(i int) string { return fmt.Sprintf("eventlog:%d", i) }

// adoptEventLog gives the event log the files handed over (the same
// files, even when one was renamed and not reopened yet).
func adoptEventLog(in *handover.In) func(int) *os.File {
	return func(i int) *os.File { return in.File(eventLogName(i)) }
}

// adoptControl takes over the control socket handed over, or listens
// anew.
func adoptControl(in *handover.In, path string, onStale func(string)) (*control.Server, error) {
	f := in.File("control")
	if f == nil {
		return control.Listen(path, onStale)
	}
	var h control.Handover
	if _, err := in.State("control", &h); err != nil {
		f.Close()
		return nil, err
	}
	return control.Adopt(f, h)
}

// transcriptHandover is the transcript's state in the record.
type transcriptHandover struct {
	Sink *SinkHandover `json:"sink,omitempty"` // nil: none ran
}

// hand gives the next manager the output pipe and its sink.
func (t *transcriptPipe) hand(out *handover.Out) error {
	out.File("transcript:read", t.r)
	out.File("transcript:write", t.w)
	var st transcriptHandover
	if h, stdout, stderr, ok := t.sink.Handover(); ok {
		st.Sink = &h
		out.File("transcript:sink-stdout", stdout)
		out.File("transcript:sink-stderr", stderr)
	}
	return out.State("transcript", st)
}

// adoptedChildren are the children a previous manager handed over,
// adopted by the reaper before it runs (so their exits are not taken for
// strangers').
type adoptedChildren struct {
	snap    *manager.Handover
	program *child.Process
	sink    *child.Process
	tr      transcriptHandover
}

func adoptChildren(in *handover.In, reaper *child.Reaper) (*adoptedChildren, error) {
	if in == nil {
		return nil, nil
	}
	a := &adoptedChildren{snap: new(manager.Handover)}
	ok, err := in.State("manager", a.snap)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("the state record has no manager state")
	}
	if a.snap.State == manager.Running.String() && a.snap.Pid > 0 {
		a.program = reaper.Adopt(a.snap.Pid)
	}
	if _, err := in.State("transcript", &a.tr); err != nil {
		return nil, err
	}
	if a.tr.Sink != nil {
		a.sink = reaper.Adopt(a.tr.Sink.Pid)
	}
	return a, nil
}

// adoptWaiters serves again, on the control socket taken over, the
// clients that waited in "await" when the previous manager handed over.
func adoptWaiters(in *handover.In, a *adoptedChildren, srv *control.Server) error {
	if a == nil {
		return nil
	}
	for i, w := range a.snap.Waiters {
		if f := in.File(fmt.Sprintf("await:%d", i)); f != nil {
			if err := srv.AdoptConn(f, w.Line); err != nil {
				return err
			}
		}
	}
	return nil
}

// hand gives the next manager the notification endpoints, by check.
func (jc *jobChecks) hand(out *handover.Out) error {
	for name, f := range jc.files {
		out.File(name, f)
	}
	return nil
}

// adoptNotifySocket takes over the notification socket handed over as
// name: the manager's end and the check's descriptor.
func adoptNotifySocket(in *handover.In, name string) (*net.UnixConn, *os.File, error) {
	f := in.File(name)
	if f == nil {
		return nil, nil, nil
	}
	c, err := net.FileConn(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("adopt the notification socket: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		f.Close()
		return nil, nil, fmt.Errorf("adopt the notification socket: a %T", c)
	}
	return uc, f, nil
}

// ReadHandover reads what a previous manager handed over on descriptor
// fd (the argument of --upgraded): the record and the job's
// configuration.
func ReadHandover(fd string) (*handover.In, *config.Config, error) {
	n, err := strconv.Atoi(fd)
	if err != nil {
		return nil, nil, fmt.Errorf("bad state record descriptor %q", fd)
	}
	in, err := handover.Read(n)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := HandedConfig(in)
	if err != nil {
		in.Close()
		return nil, nil, err
	}
	return in, cfg, nil
}

// HandedConfig is the configuration a previous manager handed over.
func HandedConfig(in *handover.In) (*config.Config, error) {
	cfg := new(config.Config)
	ok, err := in.State("config", cfg)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("the state record has no configuration")
	}
	return cfg, nil
}

// hand gives the next manager the listen sockets, by name.
func (h *heldSockets) hand(out *handover.Out) error {
	for _, sock := range h.set.Sockets() {
		out.File(listenName(sock.Name), sock.File)
	}
	return nil
}

func listenName(name string) string { return "listen:" + name }

// adoptListen takes over the listen sockets handed over; nil when none
// were (a fresh start, or a manager whose job had none).
func adoptListen(in *handover.In, specs []listen.Spec) (*listen.Set, error) {
	var files []*os.File
	for _, spec := range specs {
		if f := in.File(listenName(spec.Name)); f != nil {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, nil
	}
	set, err := listen.Adopt(specs, files)
	if err != nil {
		for _, f := range files {
			f.Close()
		}
		return nil, err
	}
	return set, nil
}

// listenMetrics is the metrics endpoint's listener: the one handed over,
// or a new one at address.
func listenMetrics(in *handover.In, address string) (net.Listener, error) {
	if f := in.File("metrics"); f != nil {
		defer f.Close()
		if l, err := net.FileListener(f); err == nil {
			return l, nil
		}
	}
	return net.Listen("tcp", address)
}

// handMetrics gives the next manager the metrics endpoint's listener.
func handMetrics(out *handover.Out, l net.Listener) error {
	tl, ok := l.(*net.TCPListener)
	if !ok {
		return nil
	}
	f, err := tl.File()
	if err != nil {
		return fmt.Errorf("metrics endpoint descriptor: %w", err)
	}
	out.FileOwned("metrics", f)
	return nil
}
