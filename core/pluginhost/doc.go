// Package pluginhost turns a job's plugin configuration into running
// plugin processes and hands the manager plain interfaces
// (transcript.Sink) with nothing of go-plugin in them.
//
// Built-in plugins are this binary re-executed with a hidden command
// ("zdaemon plugin transcript file"); external ones are the executable a
// job file names. In the manager, plugin processes are started through the
// manager's single reaper (child.Reaper), so that go-plugin never races it
// for exit statuses; in the client (validate) through os/exec. Every
// plugin runs in its own process group, and whenever it ends (it exits, a
// failed handshake, Close) the whole group gets SIGKILL and our ends of
// its stdout and stderr end after what they hold, so nothing waits for an
// end of file a grandchild keeps open. When the manager dies, check
// plugins get SIGKILL and a sink gets SIGTERM (the parent-death signal):
// it writes what is left in the pipe up to its end and exits. A sink that crashes is started again, with
// back-off, on the same input pipe. Plugin log lines (their stderr, in
// go-plugin's hclog format) are forwarded into the manager's slog logger.
package pluginhost
