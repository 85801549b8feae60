//go:build !linux

package logfile

import "io"

// spliceFrom copies nothing where there is no splice(2): the sink reads
// and writes.
func (s *Sink) spliceFrom(io.Reader) bool { return false }
