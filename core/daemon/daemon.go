// Package daemon detaches the manager from the invoking terminal and carries
// the hand-off between the client that starts a manager and the manager it
// started: the effective configuration goes down one pipe, and one line per
// start-up message (warnings, the fatal error, or "ready") comes back up
// another, so that errors found while the manager starts still reach the
// user's terminal with the right exit status. A manager that finds another
// one already serving its socket says so apart (ErrInUse), so that the
// client can turn to that one.
//
// Go cannot fork a running runtime, so detaching is an execution of the
// manager executable with Setsid (immortal's Fork), never setsid on
// oneself. A manager run by hand in the foreground gets the same
// configuration on the same descriptor from Exec, and no notifier.
package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zdaemon/zdaemon/core/config"
)

// Descriptors of the hand-off, as seen by the manager.
const (
	ConfigFD = 3 // the effective configuration, JSON, until EOF
	NotifyFD = 4 // start-up messages, one per line, closed when ready
)

// SpawnSpec says how to start a manager.
type SpawnSpec struct {
	// Exe is the manager executable; "" is this binary.
	Exe string
	// Args are the manager's arguments (after the executable).
	Args []string
	// Env is the manager's complete environment.
	Env []string
	// Dir is the manager's working directory.
	Dir string
	// Credential switches user (only when started by root).
	Credential *syscall.Credential
	// Detach starts a new session with stdio on /dev/null; otherwise the
	// manager shares the caller's terminal and stdio.
	Detach bool
}

// procsAdded marks a GOMAXPROCS that managerEnv added.
const procsAdded = "ZDAEMON_GOMAXPROCS=added"

// ManagerProcs is the manager's GOMAXPROCS when its caller sets none: one
// P for the loop and the goroutines, one kept by the control server's
// accept loop (see package supervisor).
const ManagerProcs = 2

// managerEnv is the environment to start a manager with: env, plus
// GOMAXPROCS=ManagerProcs when env sets none. Told so before it starts,
// the Go runtime sets up as many Ps as the manager uses instead of one per
// core and shrinking later (on a machine with many cores that saves
// threads and their stacks). A marker lets the manager take the variable
// away again (RestoreEnv), so that its program and plugins get env
// unchanged.
func managerEnv(env []string) []string {
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOMAXPROCS=") {
			return env
		}
	}
	return append(slices.Clip(env), "GOMAXPROCS="+strconv.Itoa(ManagerProcs), procsAdded)
}

// RestoreEnv removes what managerEnv added from this process's
// environment, before anything inherits it; it says whether there was
// anything (the runtime then started with one P).
func RestoreEnv() bool {
	k, v, _ := strings.Cut(procsAdded, "=")
	if os.Getenv(k) != v {
		return false
	}
	os.Unsetenv(k)
	os.Unsetenv("GOMAXPROCS")
	return true
}

// Manager is a started manager process.
type Manager struct {
	Pid    int
	notify *bufio.Reader
	nf     *os.File
}

// Spawn starts the manager executable (zdrun-plugins beside it for a job
// with plugins, see PluginHost) and sends it cfg. It forks with
// syscall.ForkExec, not os/exec: the first os/exec start in a process
// forks a throwaway child to learn whether pidfds work (0.2 ms here, on
// the path of every "start").
func Spawn(spec SpawnSpec, cfg *config.Config) (*Manager, error) {
	exe := spec.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find own executable: %w", err)
		}
	}
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("config pipe: %w", err)
	}
	defer cfgR.Close()
	notR, notW, err := os.Pipe()
	if err != nil {
		cfgW.Close()
		return nil, fmt.Errorf("notify pipe: %w", err)
	}
	defer notW.Close()

	fail := func(err error) (*Manager, error) {
		cfgW.Close()
		notR.Close()
		return nil, err
	}
	stdio := []*os.File{os.Stdin, os.Stdout, os.Stderr}
	if spec.Detach { // stdio on /dev/null
		null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			return fail(fmt.Errorf("start manager: %w", err))
		}
		defer null.Close()
		stdio = []*os.File{null, null, null}
	}
	var files []uintptr
	for _, f := range append(stdio, cfgR, notW) { // ConfigFD, NotifyFD
		files = append(files, f.Fd())
	}
	path := managerFor(exe, cfg)
	pid, err := syscall.ForkExec(path, append([]string{path}, spec.Args...), &syscall.ProcAttr{
		Dir:   spec.Dir,
		Env:   managerEnv(spec.Env),
		Files: files,
		Sys:   &syscall.SysProcAttr{Credential: spec.Credential, Setsid: spec.Detach},
	})
	if err != nil {
		return fail(fmt.Errorf("start manager: fork/exec %s: %w", path, err))
	}
	// The pipe buffer holds any realistic configuration; write after the
	// start so a huge one cannot deadlock us before the reader exists.
	werr := json.NewEncoder(cfgW).Encode(cfg)
	cfgW.Close()
	if werr != nil {
		notR.Close()
		return nil, fmt.Errorf("send configuration to manager: %w", werr)
	}
	return &Manager{Pid: pid, notify: bufio.NewReader(notR), nf: notR}, nil
}

// ErrNotReady is returned by Wait when the manager exited without saying
// it was ready or why not.
var ErrNotReady = errors.New("daemon manager exited during start-up")

// ErrInUse says the manager found another manager already serving its
// control socket: it lost a race with a concurrent start. Wait's
// *StartupError unwraps to it.
var ErrInUse = errors.New("another manager serves the control socket")

// StartupError is the manager's own account of why it could not start.
type StartupError struct {
	Code  int // the exit status the manager chose
	Msg   string
	InUse bool // another manager serves the socket (errors.Is ErrInUse)
	// Source is the config.Sources key of the setting the error is
	// about, "" when it is about none.
	Source string
}

func (e *StartupError) Error() string { return e.Msg }

// Unwrap returns ErrInUse when another manager serves the socket.
func (e *StartupError) Unwrap() error {
	if e.InUse {
		return ErrInUse
	}
	return nil
}

// Wait reads start-up messages until the manager is ready or has failed.
// Each warning is passed to warn as it arrives. Once ready, the hand-off
// stays open for AwaitUp; Close it when not waiting.
func (m *Manager) Wait(warn func(string)) (err error) {
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	for {
		line, rerr := m.notify.ReadString('\n')
		if rerr != nil {
			return ErrNotReady
		}
		kind, text, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		switch kind {
		case "ready":
			return nil
		case "warn":
			warn(unquote(text))
		case "error", "inuse":
			codeText, rest, _ := strings.Cut(text, " ")
			code, _ := strconv.Atoi(codeText)
			msg, source := rest, ""
			if q, err := strconv.QuotedPrefix(rest); err == nil {
				msg, source = q, unquote(strings.TrimSpace(rest[len(q):]))
			}
			return &StartupError{Code: code, Msg: unquote(msg), Source: source, InUse: kind == "inuse"}
		}
	}
}

// ErrNotUp is returned by AwaitUp when the hand-off ended without the
// word that the program is up: the manager exited, or an upgrade replaced
// it (the hand-off does not survive the exec; the control socket does).
var ErrNotUp = errors.New("the manager ended the hand-off before the program was up")

// AwaitUp waits, after Wait, for the manager's word that the program is
// up and returns it: the status text "await up 0" answers with. It calls
// tick every interval meanwhile (the client's progress dots), and returns
// ctx's error once ctx ends. It reads on the calling goroutine: the word
// reaches the caller with no hand-over between goroutines.
func (m *Manager) AwaitUp(ctx context.Context, interval time.Duration, tick func()) (string, error) {
	stop := context.AfterFunc(ctx, func() { _ = m.nf.SetReadDeadline(time.Now()) })
	defer stop()
	next := time.Now().Add(interval)
	var line strings.Builder
	for {
		_ = m.nf.SetReadDeadline(next)
		if ctx.Err() != nil { // ended before the deadline above replaced its own
			return "", ctx.Err()
		}
		part, err := m.notify.ReadString('\n')
		line.WriteString(part)
		switch {
		case err == nil:
			kind, text, _ := strings.Cut(strings.TrimSuffix(line.String(), "\n"), " ")
			line.Reset()
			if kind == "up" {
				return unquote(text), nil
			}
			// Another word (of a later manager) is not ours to know.
		case errors.Is(err, os.ErrDeadlineExceeded):
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			if now := time.Now(); !now.Before(next) {
				tick()
				next = now.Add(interval)
			}
		default:
			return "", ErrNotUp
		}
	}
}

// Close ends the client's side of the hand-off.
func (m *Manager) Close() error { return m.nf.Close() }

// Reap waits for the manager to exit; an error when it exited non-zero
// or could not be waited for.
func (m *Manager) Reap() error {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(m.Pid, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for the manager (pid %d): %w", m.Pid, err)
		}
		break
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return fmt.Errorf("the manager (pid %d) ended: %s", m.Pid, exitText(ws))
	}
	return nil
}

// exitText says how a process ended, as os.ProcessState does.
func exitText(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "signal: " + ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// Notifier is the manager's end of the hand-off. The zero value (no
// descriptor) discards everything, for a manager started by hand.
type Notifier struct{ w io.WriteCloser }

// ReadHandoff reads the configuration from ConfigFD and returns it with the
// notifier on NotifyFD.
func ReadHandoff() (*config.Config, *Notifier, error) {
	cf := os.NewFile(ConfigFD, "config")
	nf := os.NewFile(NotifyFD, "notify")
	if cf == nil || nf == nil {
		return nil, nil, errors.New("no hand-off descriptors")
	}
	defer cf.Close()
	syscall.CloseOnExec(NotifyFD)
	cfg := new(config.Config)
	if err := json.NewDecoder(cf).Decode(cfg); err != nil {
		nf.Close()
		return nil, nil, fmt.Errorf("read configuration from client: %w", err)
	}
	return cfg, &Notifier{w: nf}, nil
}

// ReadConfig reads the configuration from ConfigFD, for a manager that
// Exec started: attached, with no notifier.
func ReadConfig() (*config.Config, error) {
	cf := os.NewFile(ConfigFD, "config")
	if cf == nil {
		return nil, errors.New("no configuration descriptor")
	}
	defer cf.Close()
	cfg := new(config.Config)
	if err := json.NewDecoder(cf).Decode(cfg); err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return cfg, nil
}

// PluginsName is the manager with the plugin host, zdrun-plugins, beside
// the manager executable zdrun: zdrun links no plugin stack, and becomes
// zdrun-plugins (Forward) for a job with plugins.
const PluginsName = "zdrun-plugins"

// NeedsPlugins says whether a job needs the plugin host's executable: it
// runs plugin processes (RunsPlugins) or serves its metrics over HTTP (the
// Prometheus library is linked there only).
func NeedsPlugins(cfg *config.Config) bool {
	return RunsPlugins(cfg) || cfg.Metrics != nil
}

// RunsPlugins says whether a job runs plugin processes: a transcript sink
// (in daemon mode or under "zdaemon run") or start tests.
func RunsPlugins(cfg *config.Config) bool {
	return cfg.Sink != nil && (cfg.Daemon || cfg.Foreground) || len(cfg.AllChecks()) > 0
}

// PluginHost is the manager with the plugin host beside the manager
// executable exe when it is there, and exe otherwise (which hands the
// work on, or says what is missing). Going to it at once saves zdrun's
// start-up and an exec.
func PluginHost(exe string) string {
	p := filepath.Join(filepath.Dir(exe), PluginsName)
	if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return exe
	}
	return p
}

// managerFor is the executable to start a manager of cfg with.
func managerFor(exe string, cfg *config.Config) string {
	if NeedsPlugins(cfg) {
		return PluginHost(exe)
	}
	return exe
}

// Executable is this process's executable, symlinks resolved: the
// manager executables find each other and serve the built-in plugins by
// it. It is looked up once (a process's executable is the one it was
// started as; an upgrade's execve starts over): zdrun asks at start and
// the supervisor again before the program's start.
var Executable = sync.OnceValues(func() (string, error) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return "", fmt.Errorf("find the manager executable: %w", err)
	}
	return exe, nil
})

// ReadStart reads what a manager was handed at its start: the
// configuration, and unless it runs attached ("zdaemon run", see Exec) the
// notifier; n is nil then.
func ReadStart(attached bool) (cfg *config.Config, n *Notifier, err error) {
	if attached {
		cfg, err = ReadConfig()
		return cfg, nil, err
	}
	return ReadHandoff()
}

// Warn passes a warning to the client's terminal.
func (n *Notifier) Warn(msg string) { n.send("warn " + strconv.Quote(msg)) }

// Fail reports a fatal start-up error and the exit status it causes.
func (n *Notifier) Fail(code int, msg string) { n.FailAt(code, "", msg) }

// FailAt is Fail for an error about one setting of the job file: source
// is its config.Sources key, for the client to show the error at the
// setting's file:line:column ("" when there is none).
func (n *Notifier) FailAt(code int, source, msg string) {
	line := fmt.Sprintf("error %d %s", code, strconv.Quote(msg))
	if source != "" {
		line += " " + strconv.Quote(source)
	}
	n.send(line)
	n.close()
}

// InUse reports that another manager already serves the control socket
// (msg says which), and the exit status that causes; the client then
// talks to that manager instead.
func (n *Notifier) InUse(code int, msg string) {
	n.send(fmt.Sprintf("inuse %d %s", code, strconv.Quote(msg)))
	n.close()
}

// Ready tells the client the manager is listening. The hand-off stays
// open for Up (or Close).
func (n *Notifier) Ready() { n.send("ready") }

// Up tells the client that the program is up, with the status text of
// "await up 0" (the client that started the manager waits for it), and
// ends the hand-off; "" ends it without (the manager exits first).
func (n *Notifier) Up(status string) {
	if status != "" {
		n.send("up " + strconv.Quote(status))
	}
	n.close()
}

// Close ends the hand-off.
func (n *Notifier) Close() { n.close() }

func (n *Notifier) send(line string) {
	if n == nil || n.w == nil {
		return
	}
	_, _ = io.WriteString(n.w, line+"\n") // the client may be gone: not our problem
}

func (n *Notifier) close() {
	if n != nil && n.w != nil {
		_ = n.w.Close()
		n.w = nil
	}
}
