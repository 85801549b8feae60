// Package control is the server side of zdaemon's unix-socket control
// protocol, compatible with the original's clients and scripts: one
// connection, one command line of at most 10,000 bytes ending in a
// newline, a plain-text reply, close.
//
// The server binds the socket safely (temporary name, mode 0700, link(2)
// into place, stale sockets removed only when they refuse connections),
// checks every peer's credentials, serves many clients at once, and hands
// each request to a Handler. Short requests are answered on the accept
// loop itself, a thread of its own blocked in epoll_wait (the listening
// socket is not in Go's poller), which after an answer looks for the next
// connection for a moment before it sleeps; "status" comes from a Board
// its owner publishes to, with no hop to the owner's goroutine. The
// replies' shapes and the client are core/controlproto's.
package control
