//go:build !linux

package ontime

// newNudger has nothing to offer outside Linux: timers fire as the
// runtime lets them.
func newNudger() (nudger, error) { return nil, nil }
