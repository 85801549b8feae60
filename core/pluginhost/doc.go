// Package pluginhost turns a job's plugin configuration into running
// plugin processes and hands the manager plain interfaces
// (transcript.Sink) with nothing of go-plugin in them.
//
// Built-in plugins are this binary re-executed with a hidden command
// ("zdaemon plugin transcript file"); external ones are the executable a
// job file names. In the manager, plugin processes are started through the
// manager's single reaper (child.Reaper), so that go-plugin never races it
// for exit statuses; every plugin gets SIGKILL when the manager dies, and
// Close kills them all. A sink that crashes is started again, with
// back-off, on the same input pipe. Plugin log lines (their stderr, in
// go-plugin's hclog format) are forwarded into the manager's slog logger.
package pluginhost
