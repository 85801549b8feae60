package supervisor

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/zdaemon/zdaemon/core/control"
)

// socketKeeper keeps the control socket at its path for the manager's
// life.
type socketKeeper struct {
	path    string
	log     *slog.Logger
	onStale func(string)
	serve   func(*control.Server)

	mu      sync.Mutex
	servers []*control.Server
	closed  bool
}

// check runs when the socket's directory entry changed: if it is no longer
// ours, listen again at the path.
func (k *socketKeeper) check() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed || k.servers[len(k.servers)-1].Owns() {
		return
	}
	srv, err := control.Listen(k.path, k.onStale)
	if err != nil {
		k.log.Error(fmt.Sprintf("the control socket %s was removed or replaced and cannot be recreated: %v", k.path, err))
		return
	}
	k.log.Warn(fmt.Sprintf("the control socket %s was removed or replaced; recreated it", k.path))
	k.servers = append(k.servers, srv)
	k.serve(srv)
}

// closeAll stops listening on every socket (and unlinks the one that is
// still ours); safe to call more than once.
func (k *socketKeeper) closeAll() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	for _, s := range k.servers {
		_ = s.Close()
	}
}

// requests counts the requests of every control server, recreated ones
// too.
func (k *socketKeeper) requests() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	var n uint64
	for _, srv := range k.servers {
		n += srv.Requests()
	}
	return n
}
