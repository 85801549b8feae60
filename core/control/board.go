package control

import (
	"sync/atomic"
	"time"

	"github.com/zdaemon/zdaemon/core/controlproto"
)

// Board holds the status its owner (the manager's loop) last published,
// rendered once, so that "status" is answered on whichever goroutine reads
// the request, with no hop to the owner's. The reply is
// controlproto.Status.Format's, byte for byte: only its now= line is
// filled in per request, with the time of the request.
//
// The owner publishes after every change of state and before it answers
// anything that reveals the change (a command's reply, an await's), so a
// client that saw a transition never reads a status from before it. A
// Board is safe for concurrent use; the zero Board has nothing published.
type Board struct {
	p atomic.Pointer[boardEntry]
}

// boardEntry is one published status; immutable once stored.
type boardEntry struct {
	head, tail string // the reply before and after its now= line
	retired    bool   // the owner is gone: nothing is answered
}

// Publish makes s (but for its Now) the status every later reply renders.
func (b *Board) Publish(s controlproto.Status) {
	head, tail := controlproto.StatusParts(s)
	b.p.Store(&boardEntry{head: head, tail: tail})
}

// Retire says the owner is gone: every later reply is empty (the
// connection closes unanswered, as when the owner had exited before a
// request reached it).
func (b *Board) Retire() { b.p.Store(&boardEntry{retired: true}) }

// Reply is the status reply at now; ok is false while nothing was
// published (the owner has to answer itself).
func (b *Board) Reply(now time.Time) (reply string, ok bool) {
	e := b.p.Load()
	if e == nil {
		return "", false
	}
	if e.retired {
		return "", true
	}
	return string(controlproto.AppendStatus(make([]byte, 0, len(e.head)+len(e.tail)+32), e.head, e.tail, now)), true
}

// AppendReply appends the status reply at now to dst, as Reply; dst
// comes back unchanged when the reply is empty.
func (b *Board) AppendReply(dst []byte, now time.Time) ([]byte, bool) {
	e := b.p.Load()
	if e == nil {
		return dst, false
	}
	if e.retired {
		return dst, true
	}
	return controlproto.AppendStatus(dst, e.head, e.tail, now), true
}
