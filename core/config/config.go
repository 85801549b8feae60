// Package config owns zdaemon's job configuration: the typed Config every
// other part of the program reads, the types it holds, and its defaults.
// The manager receives a Config as JSON from the client and reads it.
//
// It knows nothing of processes, sockets or plugins, nor of the job file's
// syntax: package jobfile parses and validates job files into a Config, so
// that the manager links no HCL. Config imports neither hcl nor cty.
package config

import (
	"syscall"
	"time"

	"github.com/zdaemon/zdaemon/core/listen"
)

// Defaults of the original zdaemon (zdaemon/component.xml).
const (
	DefaultSocketName   = "zdsock"
	DefaultBackoffLimit = 10
	DefaultStartTimeout = 300 * time.Second
	DefaultStopTimeout  = 300 * time.Second
	DefaultUmask        = 0o022
	DefaultTranscript   = "/dev/null"
)

// Config is the effective configuration of one job. It is plain data: the
// client builds it (defaults, job file, command line) and hands it to the
// manager as JSON, so every field must survive encoding/json.
type Config struct {
	// ConfigFile is the absolute path of the job file, "" without -C.
	ConfigFile string `json:"config_file,omitempty"`

	// Program is the program's argv; Program[0] is looked up on PATH when it
	// has no slash.
	Program []string `json:"program"`
	// Filename is Program[0] resolved to an absolute path (set by the
	// client before it hands the configuration to the manager).
	Filename string `json:"filename,omitempty"`
	// SocketName is the control socket's path, as configured (relative
	// paths are relative to the invoking directory).
	SocketName string `json:"socket_name"`
	// Daemon runs the manager detached from the terminal (default true).
	Daemon bool `json:"daemon"`
	// Foreground is set by "zdaemon run" (a service manager's or a
	// container's foreground manager): the program's output goes to the
	// transcript when one is set, else to the manager's own stdout and
	// stderr, which stay the manager's either way.
	Foreground bool `json:"foreground,omitempty"`
	// Directory is where the manager and the program run ("" = unchanged).
	Directory string `json:"directory,omitempty"`
	// BackoffLimit is the restart governor's limit, in seconds and count.
	BackoffLimit int `json:"backoff_limit"`
	// Forever keeps restarting a crashing program at the backoff limit.
	Forever bool `json:"forever"`
	// ExitCodes are exit statuses after which the program is not restarted
	// and the manager exits. Empty means none.
	ExitCodes []int `json:"exit_codes"`
	// StartTimeout bounds how long start and restart wait (wall clock).
	StartTimeout time.Duration `json:"start_timeout"`
	// StopTimeout is how long stop waits after SIGTERM before SIGKILL;
	// 0 means never SIGKILL (as the original).
	StopTimeout time.Duration `json:"stop_timeout"`
	// User to run the manager and program as (name or numeric uid).
	User string `json:"user,omitempty"`
	// Umask applied by the daemonized manager (and inherited by the program).
	Umask int `json:"umask"`
	// DefaultToInteractive enters the shell when no action is given.
	DefaultToInteractive bool `json:"default_to_interactive"`
	// Logfile is the default file of the logtail action.
	Logfile string `json:"logfile,omitempty"`
	// Transcript is the file receiving the program's output.
	Transcript string `json:"transcript"`
	// Prompt of the interactive shell ("" = "<argv0 base>> ").
	Prompt string `json:"prompt,omitempty"`
	// SignalGroup sends stop, restart and the stop-timeout SIGKILL to the
	// program's whole process group (default true); false restores the
	// original's "main pid only".
	SignalGroup bool `json:"signal_group"`
	// StartGrace is how long a freshly spawned program must stay up before
	// start reports it started (when no start test applies).
	StartGrace time.Duration `json:"start_grace"`
	// Watchdog is the period within which the program must send
	// WATCHDOG=1 on $NOTIFY_SOCKET once it is up (0: no watchdog).
	Watchdog time.Duration `json:"watchdog,omitempty"`

	// Sink is the transcript sink, resolved by the client from a
	// transcript block or the transcript setting (nil: output discarded).
	Sink *PluginConfig `json:"sink,omitempty"`

	// Checks are the start tests (health checks), resolved by the client
	// from healthcheck blocks; StartTest is the runner's
	// start-test-program, a "program" check.
	Checks    []CheckConfig `json:"checks,omitempty"`
	StartTest *CheckConfig  `json:"start_test,omitempty"`

	// Listen are the listen sockets the manager holds for the program,
	// in the order of the job file's listen blocks.
	Listen []listen.Spec `json:"listen,omitempty"`
	// StopSignal is what stop, restart and the manager's own shutdown
	// send the program (SIGTERM); ReloadSignal is reload's (SIGHUP).
	StopSignal   syscall.Signal `json:"stop_signal"`
	ReloadSignal syscall.Signal `json:"reload_signal"`

	// Environment is applied, in order, on top of the invoking environment.
	Environment []EnvVar `json:"environment,omitempty"`
	// EventLog configures the manager's own log; nil = warnings to stderr.
	EventLog *EventLog `json:"eventlog,omitempty"`
	// Metrics is the HTTP endpoint of the job's metrics; nil = none (the
	// control socket's "metrics" command answers either way).
	Metrics *Metrics `json:"metrics,omitempty"`

	// Sources maps a setting a job file gave to the range of its value
	// there, for CheckHost: "runner/<key>" and "eventlog/logfile/<i>/path"
	// (i counts the logfile blocks from 0). A setting changed later (the
	// command line, -X) has no source.
	Sources map[string]Range `json:"-"`
}

// Range is a span of a job file's source, where a setting came from: the
// fields of hcl.Range, without HCL (package jobfile converts).
type Range struct {
	Filename   string
	Start, End Pos
}

// Pos is a position in a job file's source: the fields of hcl.Pos. Line
// and Column count from 1, Byte from 0.
type Pos struct {
	Line, Column, Byte int
}

// PluginConfig is a plugin with its evaluated configuration.
type PluginConfig struct {
	// Kind is the block label ("file").
	Kind string `json:"kind"`
	// Plugin is an external plugin's executable (absolute); "" = built-in.
	Plugin string `json:"plugin,omitempty"`
	// Settings are plain values (string, float64, bool) by attribute.
	Settings map[string]any `json:"settings"`
}

// CheckConfig is one start test.
type CheckConfig struct {
	PluginConfig
	// Interval between tries (the first runs at once).
	Interval time.Duration `json:"interval"`
	// Timeout of one try; a try that takes longer failed.
	Timeout time.Duration `json:"timeout"`
	// Liveness keeps the check running while the program is up (nil:
	// a start test only).
	Liveness *Liveness `json:"liveness,omitempty"`
}

// Defaults of a health check: the original tried its start test every
// second, without a timeout of its own.
const (
	DefaultCheckInterval = time.Second
	DefaultCheckTimeout  = 10 * time.Second
)

// AllChecks are the start tests in order: start-test-program first.
func (c *Config) AllChecks() []CheckConfig {
	var out []CheckConfig
	if c.StartTest != nil {
		out = append(out, *c.StartTest)
	}
	return append(out, c.Checks...)
}

// EnvVar is one entry of the environment block.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Metrics is the metrics block: Prometheus text at http://Address/metrics.
type Metrics struct {
	Address string `json:"address"`
}

// EventLog is the manager's event log (the original's <eventlog>).
type EventLog struct {
	// Level is the logger's threshold as a Python logging level number
	// (critical 50, error 40, warning 30, info 20, blather 15, debug 10,
	// trace 5, all 1, notset 0).
	Level    int       `json:"level"`
	Logfiles []Logfile `json:"logfiles"`
	// Format is "" (the original's text lines) or "json": one JSON object
	// a line (time, level, msg and the record's attributes), for log
	// shippers; the logfiles' format and dateformat then do not apply.
	Format string `json:"format,omitempty"`
}

// Logfile is one target of the event log.
type Logfile struct {
	// Path of the file, or "STDOUT"/"STDERR".
	Path string `json:"path"`
	// Level is the handler's own threshold (Python level number, 0 = all).
	Level int `json:"level"`
	// Format uses Python %(name)s placeholders.
	Format string `json:"format"`
	// DateFormat is a strftime format for %(asctime)s.
	DateFormat string `json:"dateformat"`
}

// Default event-log formats of the original.
const (
	DefaultLogFormat     = "------\n%(asctime)s %(levelname)s %(name)s %(message)s"
	DefaultLogDateFormat = "%Y-%m-%dT%H:%M:%S"
)

// DefaultStartGrace is the default StartGrace: long enough to catch a
// program that exits at once (a usage error, a missing file), short enough
// to keep start fast.
const DefaultStartGrace = 20 * time.Millisecond

// Default returns the configuration zdaemon uses when neither a job file
// nor a command-line option says otherwise.
func Default() *Config {
	return &Config{
		SocketName:           DefaultSocketName,
		Daemon:               true,
		BackoffLimit:         DefaultBackoffLimit,
		ExitCodes:            []int{0, 2},
		StartTimeout:         DefaultStartTimeout,
		StopTimeout:          DefaultStopTimeout,
		Umask:                DefaultUmask,
		DefaultToInteractive: true,
		Transcript:           DefaultTranscript,
		SignalGroup:          true,
		StartGrace:           DefaultStartGrace,
		StopSignal:           syscall.SIGTERM,
		ReloadSignal:         syscall.SIGHUP,
	}
}
