package supervisor

import (
	"context"
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
	// The watch of the path (see watch): what ends the one that runs,
	// and what is closed once it has; nil while none runs.
	stopWatch func()
	watchDone chan struct{}
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

// watch watches the socket's path (control.WatchPath: check runs when
// its entry changes) until unwatch. An upgrade unwatches before the
// execve, and watches again if that failed: the execve would close the
// inotify descriptor, and the kernel closes one only after a grace period
// (some 20 ms here), which it would spend in the new manager before its
// first instruction, while the shutdown signals are ignored.
func (k *socketKeeper) watch() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed || k.stopWatch != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	k.stopWatch, k.watchDone = cancel, done
	go func() {
		defer close(done)
		if err := control.WatchPath(ctx, k.path, k.check); err != nil && ctx.Err() == nil {
			k.log.Warn(fmt.Sprintf("cannot watch the control socket: %v", err))
		}
	}()
}

// unwatch ends the watch and returns once its descriptor is closed.
func (k *socketKeeper) unwatch() {
	k.mu.Lock()
	stop, done := k.stopWatch, k.watchDone
	k.stopWatch, k.watchDone = nil, nil
	k.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}
