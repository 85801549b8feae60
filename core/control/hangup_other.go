//go:build unix && !linux

package control

import (
	"errors"
	"net"
)

// hangupWatcher needs epoll; elsewhere a client that goes away while its
// command waits is noticed when the wait ends.
type hangupWatcher struct{}

func newHangupWatcher() (*hangupWatcher, error) {
	return nil, errors.New("no hang-up watcher on this system")
}

func (w *hangupWatcher) watch(*net.UnixConn, func()) (func(), error) {
	return nil, errors.New("no hang-up watcher on this system")
}

func (w *hangupWatcher) run()   {}
func (w *hangupWatcher) close() {}
