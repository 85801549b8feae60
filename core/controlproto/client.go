package controlproto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrNoManager marks a failure to reach a manager: nothing listens on the
// socket path, or we may not connect to it.
var ErrNoManager = errors.New("no manager on the control socket")

// ErrNoAnswer marks a manager that is there but did not answer: the
// connection was made (or the listen queue was full) and no reply came
// before the deadline, or the connection was reset before a reply. The
// error also wraps the cause (context.DeadlineExceeded,
// syscall.ECONNRESET, ...).
var ErrNoAnswer = errors.New("no answer on the control socket")

// maxReply bounds what the client reads.
const maxReply = 1 << 20

// Do sends one command line to the manager at path and returns its reply:
// connect, write the line and a newline, shut down writing, read until the
// server closes. ctx bounds the whole exchange.
func Do(ctx context.Context, path, line string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	// A unix-socket connect does not block on the network: ctx is
	// honoured below, from the first write on.
	c, err := dial(path)
	if err != nil {
		if errors.Is(err, syscall.EAGAIN) { // a listener whose queue is full
			return "", fmt.Errorf("%w: %w", ErrNoAnswer, err)
		}
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
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		if len(reply) == 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "", fmt.Errorf("read reply to %q: %w: %w", line, ErrNoAnswer, cause)
		}
		return string(reply), fmt.Errorf("read reply to %q: %w", line, cause)
	}
	if len(reply) == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection's deadline (ctx's) fired before ctx noticed.
		return "", fmt.Errorf("read reply to %q: %w: %w", line, ErrNoAnswer, context.DeadlineExceeded)
	}
	if len(reply) == 0 && (isReset(err) || isReset(werr)) {
		cause := err
		if cause == nil {
			cause = werr
		}
		return "", fmt.Errorf("send %q: %w: %w", line, ErrNoAnswer, cause)
	}
	if werr != nil && len(reply) == 0 {
		return "", fmt.Errorf("send %q: %w", line, werr)
	}
	if err != nil {
		return string(reply), fmt.Errorf("read reply to %q: %w", line, err)
	}
	return string(reply), nil
}

// isReset reports a connection the server dropped without reading it.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
