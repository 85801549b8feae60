// Package logfile is zdaemon's built-in "file" transcript sink, written as
// a third party would write a sink: it implements transcript.Sink and its
// command calls transcript.Serve.
//
// It appends the program's output to a file exactly as written (or with a
// timestamp at the start of every line), reopens the file on request for
// log rotation, and can rotate by size keeping a number of old files. When
// a write fails (a full disk, say) it reports the error, stops reading, and
// retries the same bytes until they are written: nothing is lost or
// reordered, and the program is slowed by the full pipe, never killed.
//
// Two sinks never write one file at once. A sink holds an exclusive
// flock(2) on the (regular) file it writes, and starts copying only once
// it has the lock of the file at its path: a sink started by a new
// manager waits, with its program's output held in the pipe, until the
// sink of a manager that was killed has written what its pipe held and
// exited (transcript.DrainTimeout at most).
package logfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/zdaemon/zdaemon/plugins/transcript"
)

// ChunkSize is the most a sink reads at once, and so the most a crash can
// lose (read, not yet written). Reads of 64 KiB cost 20% more CPU than
// cat's copy of the same pipe and ran at 0.82× its speed; from 256 KiB on
// the copy keeps up with cat (BenchmarkCopy).
const ChunkSize = 256 * 1024

// Retry delays after a failed write.
const (
	retryMin = 50 * time.Millisecond
	retryMax = 2 * time.Second
)

// Sink is the file sink.
type Sink struct {
	Logger hclog.Logger

	mu       sync.Mutex
	path     string
	f        *os.File
	size     int64
	maxSize  int64
	oldFiles int
	stamps   bool
	atStart  bool
	written  uint64 // to the destination, stamps included (Status)
	werr     error
	started  bool
	locked   bool // the file's lock is ours (or the file needs none)
	done     chan struct{}
	now      func() time.Time
}

// Schema of the job-file block: transcript "file" { path = "..." }.
func (s *Sink) Schema(context.Context) (transcript.Schema, error) {
	return Schema(), nil
}

// Schema is the file sink's configuration schema.
func Schema() transcript.Schema {
	return transcript.Schema{Attributes: []transcript.Attribute{
		{Name: "path", Type: transcript.TypeString, Required: true, Description: "the transcript file (relative to the job's directory)"},
		{Name: "max-size", Type: transcript.TypeNumber, Description: "rotate when the file would grow past this many bytes (0: never)"},
		{Name: "old-files", Type: transcript.TypeNumber, Description: "rotated files kept (path.1 ... path.N), default 5"},
		{Name: "timestamps", Type: transcript.TypeBool, Description: "prefix every line with the time it was read"},
	}}
}

// Validate checks a configuration.
func (s *Sink) Validate(_ context.Context, cfg transcript.Config) []transcript.FieldError {
	return Validate(cfg)
}

// Validate is the file sink's configuration check.
func Validate(cfg transcript.Config) []transcript.FieldError {
	var errs []transcript.FieldError
	if cfg.String("path", "") == "" {
		errs = append(errs, transcript.FieldError{Field: "path", Message: "must name a file"})
	}
	if n := cfg.Number("max-size", 0); n < 0 || n != math.Trunc(n) {
		errs = append(errs, transcript.FieldError{Field: "max-size", Message: "must be a whole number of bytes, 0 or more"})
	}
	if n := cfg.Number("old-files", 5); n < 1 || n > 1000 || n != math.Trunc(n) {
		errs = append(errs, transcript.FieldError{Field: "old-files", Message: "must be a whole number from 1 to 1000"})
	}
	return errs
}

// Start opens the file and starts copying in to it.
func (s *Sink) Start(_ context.Context, cfg transcript.Config, in io.Reader) error {
	if errs := Validate(cfg); len(errs) > 0 {
		return errs[0]
	}
	path, err := filepath.Abs(cfg.String("path", ""))
	if err != nil {
		return fmt.Errorf("transcript path: %w", err)
	}
	f, size, err := open(path)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		f.Close()
		return errors.New("sink already started")
	}
	s.started = true
	s.path, s.f, s.size = path, f, size
	s.maxSize = int64(cfg.Number("max-size", 0))
	s.oldFiles = int(cfg.Number("old-files", 5))
	s.stamps = cfg.Bool("timestamps", false)
	s.atStart = true
	s.done = make(chan struct{})
	if s.now == nil {
		s.now = time.Now
	}
	if s.Logger == nil {
		s.Logger = hclog.NewNullLogger()
	}
	go s.copy(in)
	return nil
}

func open(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is ours to name
		}
		return nil, 0, fmt.Errorf("cannot open transcript %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("stat transcript: %w", err)
	}
	return f, st.Size(), nil
}

// copy moves bytes until EOF. A failed write is retried (the same bytes,
// in order) until it succeeds; meanwhile nothing more is read.
func (s *Sink) copy(in io.Reader) {
	defer close(s.done)
	s.waitTurn()
	buf := make([]byte, ChunkSize)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			s.writeAll(buf[:n])
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.Logger.Error("transcript input failed", "error", err)
			}
			return
		}
	}
}

// writeAll writes p, retrying with back-off while writes fail.
func (s *Sink) writeAll(p []byte) {
	delay := retryMin
	for {
		s.mu.Lock()
		n, err := s.write(p)
		p = p[n:]
		if err == nil {
			if s.werr != nil {
				s.Logger.Info("transcript writes work again", "path", s.path)
				s.werr = nil
			}
			s.mu.Unlock()
			return
		}
		if s.werr == nil || s.werr.Error() != err.Error() {
			s.Logger.Error("transcript write failed; retrying, program output is held back meanwhile", "path", s.path, "error", err)
		}
		s.werr = err
		s.mu.Unlock()
		time.Sleep(delay)
		delay = min(delay*2, retryMax)
	}
}

// write writes p (with timestamps if asked), rotating first when needed.
// It returns how much of p is done. Called with mu held.
func (s *Sink) write(p []byte) (int, error) {
	if s.maxSize > 0 && s.size > 0 && s.size+int64(len(p)) > s.maxSize {
		if err := s.rotate(); err != nil {
			return 0, err
		}
	}
	if !s.stamps {
		n, err := s.f.Write(p)
		s.size += int64(n)
		s.written += uint64(n)
		return n, err
	}
	done := 0
	for done < len(p) {
		if s.atStart {
			stamp := s.now().Format("2006-01-02T15:04:05.000Z07:00 ")
			if _, err := io.WriteString(s.f, stamp); err != nil {
				return done, err
			}
			s.size += int64(len(stamp))
			s.written += uint64(len(stamp))
			s.atStart = false
		}
		end := len(p)
		if i := indexByte(p[done:], '\n'); i >= 0 {
			end = done + i + 1
		}
		n, err := s.f.Write(p[done:end])
		s.size += int64(n)
		s.written += uint64(n)
		done += n
		if err != nil {
			return done, err
		}
		s.atStart = p[end-1] == '\n'
	}
	return done, nil
}

func indexByte(p []byte, c byte) int {
	for i, b := range p {
		if b == c {
			return i
		}
	}
	return -1
}

// rotate shifts path.N-1 → path.N ... path → path.1 and opens a new path.
func (s *Sink) rotate() error {
	for i := s.oldFiles - 1; i >= 1; i-- {
		_ = os.Rename(fmt.Sprintf("%s.%d", s.path, i), fmt.Sprintf("%s.%d", s.path, i+1))
	}
	if err := os.Rename(s.path, s.path+".1"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rotate transcript: %w", err)
	}
	return s.openAgain()
}

// openAgain opens the file at its path and only then closes the old one;
// once the sink writes (it has its lock), the new file is locked before
// the old one is let go. Called with mu held.
func (s *Sink) openAgain() error {
	f, size, err := open(s.path)
	if err != nil {
		return err
	}
	if sameFile(f, s.f) {
		// Not renamed: keep the open file (and its lock).
		f.Close()
		return nil
	}
	if s.locked && needsLock(f) {
		if err := lockFile(f, true); err != nil {
			s.Logger.Warn("transcript file is locked by another process; writing anyway", "path", s.path, "error", err)
		}
	}
	s.f.Close()
	s.f, s.size = f, size
	return nil
}

// waitTurn returns once the sink holds the lock of the file at its path,
// which another sink (of a manager that died, still writing what its pipe
// held) may hold for a while. Nothing is read from the pipe meanwhile.
func (s *Sink) waitTurn() {
	warned := false
	for {
		s.mu.Lock()
		f := s.f
		s.mu.Unlock()
		if !needsLock(f) {
			break
		}
		err := lockFile(f, true)
		if errors.Is(err, errLocked) {
			if !warned {
				s.Logger.Warn("another process (an earlier sink?) holds the transcript file's lock; waiting for it", "path", s.path)
				warned = true
			}
			err = lockFile(f, false)
		}
		if err != nil {
			// No locks here (some network file systems): write anyway.
			s.Logger.Warn("cannot lock the transcript file", "path", s.path, "error", err)
			break
		}
		s.mu.Lock()
		if s.f == f && !atPath(f, s.path) {
			// The other sink rotated the file away: take the new one.
			if err := s.openAgain(); err != nil {
				s.Logger.Error("reopen transcript", "path", s.path, "error", err)
			}
		}
		if s.f == f {
			s.locked = true
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.locked = true
	s.mu.Unlock()
}

// needsLock: only regular files are locked (not /dev/null, a tty, a
// FIFO).
func needsLock(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode().IsRegular()
}

// sameFile reports whether a and b are one file.
func sameFile(a, b *os.File) bool {
	sa, err := a.Stat()
	if err != nil {
		return false
	}
	sb, err := b.Stat()
	return err == nil && os.SameFile(sa, sb)
}

// atPath reports whether f is the file now at path.
func atPath(f *os.File, path string) bool {
	st, err := f.Stat()
	if err != nil {
		return false
	}
	pst, err := os.Stat(path)
	return err == nil && os.SameFile(st, pst)
}

// Reopen opens the file at its path again (after it was renamed), then
// closes the old one.
func (s *Sink) Reopen(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return errors.New("sink not started")
	}
	return s.openAgain()
}

// Status reports progress.
func (s *Sink) Status(context.Context) (transcript.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := transcript.Status{BytesWritten: s.written, Destination: s.path}
	if s.werr != nil {
		st.Error = s.werr.Error()
	}
	return st, nil
}

// Drain waits for end of input and the last write.
func (s *Sink) Drain(ctx context.Context) (transcript.Status, error) {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return transcript.Status{}, errors.New("sink not started")
	}
	select {
	case <-done:
	case <-ctx.Done():
		return s.Status(ctx)
	}
	s.mu.Lock()
	err := s.f.Sync()
	s.mu.Unlock()
	st, _ := s.Status(ctx)
	// Devices and some file systems cannot sync; that loses nothing.
	if err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) && st.Error == "" {
		st.Error = err.Error()
	}
	return st, nil
}

var _ transcript.Sink = (*Sink)(nil)
