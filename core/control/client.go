package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
)

// ErrNoManager marks a failure to reach a manager: nothing listens on the
// socket path, or we may not connect to it.
var ErrNoManager = errors.New("no manager on the control socket")

// maxReply bounds what the client reads.
const maxReply = 1 << 20

// Do sends one command line to the manager at path and returns its reply:
// connect, write the line and a newline, shut down writing, read until the
// server closes. ctx bounds the whole exchange.
func Do(ctx context.Context, path, line string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	// A unix-socket connect does not block on the network: the plain dial
	// is much cheaper than DialContext, and ctx is honoured below.
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoManager, err)
	}
	defer c.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	// A server may answer (and close) before reading everything, e.g.
	// when it refuses the peer: a failed write still leaves its reply to read.
	_, werr := io.WriteString(c, line+"\n")
	_ = c.CloseWrite()
	reply, err := io.ReadAll(io.LimitReader(c, maxReply))
	if werr != nil && len(reply) == 0 {
		return "", fmt.Errorf("send %q: %w", line, werr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return string(reply), fmt.Errorf("read reply to %q: %w", line, context.Cause(ctx))
		}
		return string(reply), fmt.Errorf("read reply to %q: %w", line, err)
	}
	if ctx.Err() != nil {
		return string(reply), fmt.Errorf("read reply to %q: %w", line, context.Cause(ctx))
	}
	return string(reply), nil
}
