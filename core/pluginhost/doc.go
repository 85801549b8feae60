// Package pluginhost turns a job's plugin configuration into running
// plugin processes and hands the manager plain interfaces
// (transcript.Sink) with nothing of go-plugin in them.
//
// Built-in plugins are the manager with the plugin host re-executed with a
// hidden command ("zdrun-plugins plugin transcript file"); external ones are the executable a
// job file names. In the manager, plugin processes are started through the
// manager's single reaper (child.Reaper), so that go-plugin never races it
// for exit statuses; in "zdrun describe" (for validate; zdrun-plugins answers it) through os/exec. Every
// plugin runs in its own process group, and whenever it ends (it exits, a
// failed handshake, Close) the whole group gets SIGKILL and our ends of
// its stdout and stderr end after what they hold, so nothing waits for an
// end of file a grandchild keeps open. When the manager dies, check
// plugins get SIGKILL and a sink gets SIGTERM (the parent-death signal):
// it writes what is left in the pipe up to its end and exits. A sink that
// crashes is started again on the same input pipe after the back-off of
// core/backoff (SinkRestart: 100 ms doubling to 10 s, reset after a
// healthy run). Nothing here polls: the supervisor waits for the reaper's
// exit notification and a Drain during a restart for the new instance.
//
// Every plugin kind speaks the protocol versions its contract package
// lists (a host and a plugin of different zdaemon releases agree on the
// newest both know); every call ends when the plugin process does, and
// its error names the plugin and the call in plain words (CallError),
// never in gRPC's. Plugin log lines (their stderr, in go-plugin's hclog
// format) are forwarded into the manager's slog logger, gRPC statuses in
// them translated too.
package pluginhost
