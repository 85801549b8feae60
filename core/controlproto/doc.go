// Package controlproto is what the two ends of zdaemon's control protocol
// share, and its client: the status reply in the original's Python-shaped
// key=value lines (Status, its Format and ParseStatus), the replies of
// unknown commands, of upgrade and of reload, and Do, which sends one
// command line to a manager and returns its reply. The server is
// core/control.
//
// The package imports neither net nor log/slog (Do dials with system
// calls), so that the zdaemon client, which needs only this side, links
// neither: their package inits, and what those keep, were about 300 KB of
// its executable.
package controlproto
