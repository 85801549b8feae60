package command

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mitchellh/cli"

	"github.com/zdaemon/zdaemon/cmd/zdaemon/options"
	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/controlproto"
	"github.com/zdaemon/zdaemon/core/jobfile"
	"github.com/zdaemon/zdaemon/core/logformat"
	"github.com/zdaemon/zdaemon/core/pyrepr"
	"github.com/zdaemon/zdaemon/core/resolve"
)

// Meta is what every command shares: the UI, the control client, and the
// job the invocation acts on (set up by main for the commands that need
// one).
type Meta struct {
	// Ui is where commands print. Out and Err are its two streams, for
	// the original's texts that are not whole lines (the shell's prompt,
	// the dots of a wait).
	Ui    cli.Ui
	Out   io.Writer
	Err   io.Writer
	Argv0 string
	Stdin io.Reader

	// Send sends one request line to the manager at socket and returns
	// its reply: the control client (controlproto.Do unless a test sets it).
	Send func(ctx context.Context, socket, line string) (string, error)

	Opts  *options.Options
	Cfg   *config.Config
	Files map[string]*hcl.File
	// job is Cfg as the job file gave it, with the file's plugin blocks
	// (nil without a job file; see jobBlocks).
	job *jobfile.Job

	// Socket is the control socket's absolute path.
	Socket string
	// Cred is set when the job runs as another user (the caller is root).
	Cred *syscall.Credential
	// userEnv are HOME, USER and LOGNAME of that user.
	userEnv []string

	// sinkResolved is set once the transcript sink was resolved.
	sinkResolved bool
	// sink and checks are the resolved plugins, for the manager.
	sink   *config.PluginConfig
	checks []config.CheckConfig
	// oldManager is set once the manager answered one of our added
	// commands with "Unknown command": it is the original's, and waits
	// poll status as the original's client does.
	oldManager bool
	// stalled is set when a manager holds the socket but did not answer
	// (controlproto.ErrNoAnswer); a timed-out manager is not asked again within
	// the same action.
	stalled error
	// prepared is what prepare's status probe found, for the action
	// that runs right after it (stop and restart take it instead of
	// asking again); nil once taken, and in the shell.
	prepared *probed
}

// NewMeta returns the Meta of one invocation: commands print through ui.
func NewMeta(ui cli.Ui, argv0 string, stdin io.Reader) *Meta {
	m := &Meta{Ui: ui, Argv0: argv0, Stdin: stdin, Send: controlproto.Do}
	m.Out, m.Err = uiStreams(ui)
	return m
}

// uiStreams are the output and error streams behind ui.
func uiStreams(ui cli.Ui) (out, errw io.Writer) {
	switch u := ui.(type) {
	case *cli.BasicUi:
		return u.Writer, u.ErrorWriter
	case *cli.MockUi:
		return u.OutputWriter, u.ErrorWriter
	}
	return uiWriter{ui.Output}, uiWriter{ui.Error}
}

// uiWriter writes through a Ui that offers only whole messages.
type uiWriter struct{ print func(string) }

func (w uiWriter) Write(p []byte) (int, error) {
	w.print(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// flagSet returns a command's flags. Its usage is the command's help: on
// stdout for -h (exit 0, which mitchellh/cli answers before the command
// runs, unless ParseArgs is called directly), on stderr after the line
// naming a bad flag (exit 1); parseFlags says which.
func (m *Meta) flagSet(name string, help func() string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Err)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args with fs; when the command is to end there, ok is
// false and code is its exit status, with help printed as flagSet says.
func (m *Meta) parseFlags(fs *flag.FlagSet, help func() string, args []string) (code int, ok bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		m.Ui.Output(help())
		return 0, false
	case err != nil:
		m.Ui.Error(help())
		return 1, false
	}
	return 0, true
}

// setup builds the effective configuration: defaults, the job file, -X
// overrides, then command-line options (the command line wins).
func (m *Meta) setup() error {
	job := &jobfile.Job{Config: config.Default()}
	if path := m.Opts.ConfigFile; path != "" {
		abs, err := filepath.Abs(expandHome(path))
		if err != nil {
			return usagef("error opening file %s: %v", path, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return usagef("error opening file %s: %s", abs, osErrorText(err, abs))
		}
		loaded, files, diags := loadJob(path)
		m.Files = files
		if diags.HasErrors() {
			writeDiags(m.Err, files, diags)
			return &exitError{code: 2}
		}
		writeDiags(m.Err, files, diags) // warnings
		job = loaded
	} else if len(m.Opts.Overrides) > 0 {
		return usagef("configuration overrides (-X) cannot be used without a configuration file")
	}
	cfg := job.Config
	for _, o := range m.Opts.Overrides {
		if err := jobfile.Override(cfg, o.Path, o.Value); err != nil {
			return usagef("invalid value for -X %s: %v", pyrepr.Str(o.Path+"="+o.Value), err)
		}
	}
	for _, s := range m.Opts.Settings {
		if err := jobfile.Set(cfg, s.Key, s.Value); err != nil {
			return usagef("invalid value for %s %s: %v", s.Opt, pyrepr.Str(s.Value), err)
		}
	}
	// The job file's values against this machine, at their file:line;
	// then those of the command line, in the original's words. The
	// directories of the files a manager opens are checked only where one
	// may start (start, restart, run, fg, the shell): stop, status and the
	// other commands of a running job never fail because its log
	// directory went away.
	diags := jobfile.CheckHostPlaces(job)
	if m.mayStartManager() {
		diags = append(diags, jobfile.CheckHostFiles(job)...)
	}
	if len(diags) > 0 {
		writeDiags(m.Err, m.Files, diags)
		if diags.HasErrors() {
			return &exitError{code: 2}
		}
	}
	if err := checkPaths(cfg, m.Opts); err != nil {
		return err
	}
	if cfg.EventLog != nil {
		for _, lf := range cfg.EventLog.Logfiles {
			if err := logformat.Validate(lf.Format); err != nil {
				return usagef("invalid event log format for %s: %v", lf.Path, err)
			}
		}
	}
	m.Cfg, m.job = cfg, job
	sock, err := filepath.Abs(expandHome(cfg.SocketName))
	if err != nil {
		return usagef("invalid socket name %s: %v", pyrepr.Str(cfg.SocketName), err)
	}
	m.Socket = sock
	return nil
}

// jobBlocks is the job file's decoding of Cfg: its plugin blocks, none
// without a job file (or when a test set Cfg alone).
func (m *Meta) jobBlocks() *jobfile.Job {
	if m.job != nil && m.job.Config == m.Cfg {
		return m.job
	}
	return &jobfile.Job{Config: m.Cfg}
}

// mayStartManager says whether the action line may start a manager (or a
// foreground program): start, restart, run, fg, or an interactive shell.
func (m *Meta) mayStartManager() bool {
	if m.Opts.Interactive || len(m.Opts.Args) == 0 {
		return true
	}
	switch parseAction(m.Opts.Args).name {
	case "start", "restart", "run", "fg", "foreground":
		return true
	}
	return false
}

// optName returns how the user spelled the option for key, or its short form.
func optName(opts *options.Options, key, short string) string {
	for _, s := range opts.Settings {
		if s.Key == key {
			return s.Opt
		}
	}
	return short
}

// checkPaths validates socket-name and directory as the original does: at
// most one missing directory level, which zdaemon then creates. Values of
// the job file were checked by jobfile.CheckHost.
func checkPaths(cfg *config.Config, opts *options.Options) error {
	fromFile := func(key string) bool {
		_, ok := cfg.Sources["runner/"+key]
		return ok
	}
	if s := expandHome(cfg.SocketName); s != "" && !fromFile("socket-name") {
		dir := filepath.Dir(s)
		if !isDir(dir) && !isDir(filepath.Dir(dir)) {
			return usagef("invalid value for %s %s: The directory named as part of the path %s does not exist.",
				optName(opts, "socket-name", "-s"), pyrepr.Str(cfg.SocketName), cfg.SocketName)
		}
	}
	if d := expandHome(cfg.Directory); d != "" && !fromFile("directory") {
		if !isDir(d) && !isDir(filepath.Dir(d)) {
			return usagef("invalid value for %s %s: %s is not an existing directory",
				optName(opts, "directory", "-z"), pyrepr.Str(cfg.Directory), cfg.Directory)
		}
	}
	return nil
}

// prepare does what the original does before every action: warn when the
// manager runs another program, apply the environment, create missing
// directories and resolve the user.
func (m *Meta) prepare() error {
	st, ok := m.probe()
	m.prepared = &probed{st, ok}
	if ok && st.Args != nil && !hasPrefix(st.Args, m.Cfg.Program) {
		fmt.Fprintf(m.Out, "WARNING! zdrun is managing a different program!\nour program   = %s\ndaemon's args = %s\n",
			pyrepr.List(m.Cfg.Program), pyrepr.List(st.Args))
	}
	for _, e := range m.Cfg.Environment {
		if strings.ContainsAny(e.Name, "=\x00") || e.Name == "" {
			return usagef("illegal environment variable name %s", pyrepr.Str(e.Name))
		}
		os.Setenv(e.Name, e.Value)
	}
	if err := m.resolveUser(); err != nil {
		return err
	}
	if d := expandHome(m.Cfg.Directory); d != "" && !isDir(d) {
		if err := m.mkdir(d); err != nil {
			return err
		}
	}
	if dir := filepath.Dir(m.Socket); !isDir(dir) {
		if err := m.mkdir(dir); err != nil {
			return err
		}
	}
	return nil
}

func hasPrefix(list, prefix []string) bool {
	return len(list) >= len(prefix) && slices.Equal(list[:len(prefix)], prefix)
}

// mkdir creates one missing directory level, owned by the job's user when
// root runs zdaemon for another user. As root it never changes the owner
// of anything it did not just create, and never creates under a symbolic
// link another user could change (createDir).
func (m *Meta) mkdir(dir string) error {
	if os.Geteuid() == 0 {
		return createDir(dir, m.Cred)
	}
	if err := os.Mkdir(dir, 0o777); err != nil && !(errors.Is(err, os.ErrExist) && isDir(dir)) {
		return fmt.Errorf("cannot create directory %s: %w", dir, osErr(err))
	}
	return nil
}

// resolveUser looks up the user option. Only root may switch users; a user
// already running as the target needs nothing.
func (m *Meta) resolveUser() error {
	name := m.Cfg.User
	if name == "" {
		return nil
	}
	var u *user.User
	if _, err := strconv.Atoi(name); err == nil {
		if u, err = user.LookupId(name); err != nil {
			return usagef("uid %s not found", pyrepr.Str(name))
		}
	} else if u, err = user.Lookup(name); err != nil {
		return usagef("username %s not found", pyrepr.Str(name))
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	euid := os.Geteuid()
	if euid == uid {
		return nil
	}
	if euid != 0 {
		return usagef("only root can use -u USER to change users")
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.Atoi(id); err == nil {
				cred.Groups = append(cred.Groups, uint32(g))
			}
		}
		slices.Sort(cred.Groups)
	}
	m.Cred = cred
	m.userEnv = []string{"HOME=" + u.HomeDir, "USER=" + u.Username, "LOGNAME=" + u.Username}
	return nil
}

// childEnv is the environment for the manager or a foreground program:
// ours (with the job's environment applied), the target user's identity,
// and never DAEMON_MANAGER_MODE.
func (m *Meta) childEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "DAEMON_MANAGER_MODE=")
	})
	if len(m.userEnv) > 0 {
		env = slices.DeleteFunc(env, func(kv string) bool {
			return strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "USER=") || strings.HasPrefix(kv, "LOGNAME=")
		})
		env = append(env, m.userEnv...)
	}
	return env
}

// probeTimeout bounds one status poll; a live manager answers in well under
// a millisecond.
const probeTimeout = 5 * time.Second

// exitNotResponding is status's exit status when a manager holds the
// socket but does not answer: LSB's "status unknown" (0 and 3 are the
// original's "running" and "not running", and neither is known here).
const exitNotResponding = 4

// probe asks the manager for its status; ok is false when none answers.
func (m *Meta) probe() (st controlproto.Status, ok bool) {
	reply, ok := m.probeRaw()
	if !ok {
		return controlproto.Status{}, false
	}
	st, _ = controlproto.ParseStatus(reply)
	return st, true
}

// probed is one probe's result.
type probed struct {
	st controlproto.Status
	ok bool
}

// probeOnce is probe, but takes the result of prepare's probe when the
// action runs right after it: one round trip less for stop and restart.
func (m *Meta) probeOnce() (controlproto.Status, bool) {
	if p := m.prepared; p != nil {
		m.prepared = nil
		return p.st, p.ok
	}
	return m.probe()
}

func (m *Meta) probeRaw() (string, bool) {
	reply, err := m.send("status")
	if err != nil || reply == "" {
		return "", false
	}
	return reply, true
}

// send sends one command line to the manager. A manager that holds the
// socket without answering sets m.stalled. A connection reset before any
// reply is tried again (resetRetries): a manager that exits resets the
// connections it had not accepted yet, and one over its connection bound
// resets new ones, and asking again tells the two apart.
func (m *Meta) send(line string) (string, error) {
	if errors.Is(m.stalled, context.DeadlineExceeded) {
		return "", m.stalled
	}
	for try := 0; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		reply, err := m.send1(ctx, line)
		cancel()
		if try < len(resetRetries) && errors.Is(err, syscall.ECONNRESET) {
			time.Sleep(resetRetries[try])
			continue
		}
		// Anything but "nobody listens" means something holds the
		// socket and did not answer: never take it for a manager gone.
		m.stalled = nil
		if err != nil && !errors.Is(err, controlproto.ErrNoManager) {
			m.stalled = err
		}
		return reply, err
	}
}

// resetRetries are the pauses before asking again after a connection
// reset before any reply (see send): at once, then a moment later, for a
// manager that still held its listener while it exited.
var resetRetries = []time.Duration{0, 100 * time.Millisecond}

// send1 is one exchange with the manager through the control client.
func (m *Meta) send1(ctx context.Context, line string) (string, error) {
	if m.Send == nil {
		return controlproto.Do(ctx, m.Socket, line)
	}
	return m.Send(ctx, m.Socket, line)
}

// notResponding says that a manager holds the socket but did not answer.
func (m *Meta) notResponding() string {
	if errors.Is(m.stalled, context.DeadlineExceeded) {
		return fmt.Sprintf("daemon manager not responding (no answer on %s within %v)", m.Socket, probeTimeout)
	}
	return fmt.Sprintf("daemon manager not responding (%s dropped the connection unanswered)", m.Socket)
}

// resolveProgram finds the program's executable with the job's PATH.
func (m *Meta) resolveProgram() (string, error) {
	return resolve.Program(m.Cfg.Program[0], os.Getenv("PATH"))
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func expandHome(p string) string { return jobfile.ExpandHome(p) }

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// osErrorText renders an OS error as Python does:
// "[Errno 2] No such file or directory: '/abs/path'".
func osErrorText(err error, path string) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Sprintf("%s: %s", pyrepr.Errno(errno), pyrepr.Str(path))
	}
	return err.Error()
}
