package control

import (
	"bytes"
	"context"
	"io"
	"strings"
)

// MaxLine is the longest command line accepted without its newline.
const MaxLine = 10000

// Error replies of the protocol, in the original's words.
const (
	ReplyNotTerminated = "Command not terminated by newline"
	ReplyTooLong       = "Command exceeds 10 KB"
	ReplyEmpty         = "Empty command"
)

// Request is one command line received on the socket.
type Request struct {
	Line string   // the first line, without the newline
	Name string   // the first word ("" if none)
	Args []string // the remaining words
}

// Handler answers requests. Serve may block (a command that waits for the
// program to come up); ctx ends when the server shuts down. The returned
// text is the reply; "" closes the connection without one.
type Handler interface {
	Serve(ctx context.Context, req Request) string
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req Request) string

// Serve calls f.
func (f HandlerFunc) Serve(ctx context.Context, req Request) string { return f(ctx, req) }

// ReadRequest reads one request from r with the original's rules: the
// first line counts, anything after it is ignored. It returns the request,
// or the error reply to send instead.
func ReadRequest(r io.Reader) (Request, string) {
	buf := make([]byte, 0, 1024)
	chunk := make([]byte, 1024)
	for {
		n, err := r.Read(chunk)
		if n > 0 {
			data := chunk[:n]
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				if len(buf)+i > MaxLine {
					return Request{}, ReplyTooLong
				}
				return parseLine(append(buf, data[:i]...))
			}
			if len(buf)+n > MaxLine {
				return Request{}, ReplyTooLong
			}
			buf = append(buf, data...)
		}
		if err != nil {
			return Request{}, ReplyNotTerminated
		}
	}
}

// parseLine makes a request of a command line without its newline (at
// most MaxLine bytes), or returns the error reply to send instead.
func parseLine(b []byte) (Request, string) {
	line := string(b)
	words := strings.Fields(line)
	if len(words) == 0 {
		return Request{Line: line}, ReplyEmpty
	}
	return Request{Line: line, Name: words[0], Args: words[1:]}, ""
}
