package controlproto

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sock is what Do uses of a connection: ours, or net's for comparison.
type sock interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
	SetDeadline(time.Time) error
	CloseWrite() error
	Close() error
}

func dialOurs(path string) (sock, error) {
	c, err := dial(path)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func dialNets(path string) (sock, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// dial fails as net.DialUnix does, in its words.
func TestDialFailsAsNets(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: stale}); err != nil {
		t.Fatal(err)
	}
	syscall.Close(fd) // bound, never listened: refuses
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{stale, file, filepath.Join(dir, "missing"), "/" + strings.Repeat("x", 200)} {
		_, err := dialOurs(path)
		_, werr := dialNets(path)
		if err == nil || werr == nil || err.Error() != werr.Error() {
			t.Errorf("dial(%s): %v; net: %v", path, err, werr)
		}
		for _, errno := range []syscall.Errno{syscall.ENOENT, syscall.ECONNREFUSED, syscall.EINVAL} {
			if errors.Is(err, errno) != errors.Is(werr, errno) {
				t.Errorf("dial(%s): errors.Is(%v) differs from net's", path, errno)
			}
		}
	}
}

// A connection's read and write errors read as net's and wrap the same
// causes: a deadline, and a server that hung up on an unread request.
func TestConnFailsAsNets(t *testing.T) {
	for _, tt := range []struct {
		name  string
		run   func(c sock, l net.Listener) error
		cause error
	}{
		{"deadline", func(c sock, l net.Listener) error {
			_ = c.SetDeadline(time.Now().Add(-time.Second))
			_, err := c.Read(make([]byte, 1))
			return err
		}, os.ErrDeadlineExceeded},
		{"reset", func(c sock, l net.Listener) error {
			if _, err := c.Write([]byte("status\n")); err != nil {
				return err
			}
			s, err := l.Accept()
			if err != nil {
				return err
			}
			s.Close() // unread: the client's read is reset
			_, err = c.Read(make([]byte, 1))
			return err
		}, syscall.ECONNRESET},
		{"write after reset", func(c sock, l net.Listener) error {
			if _, err := c.Write([]byte("status\n")); err != nil {
				return err
			}
			s, err := l.Accept()
			if err != nil {
				return err
			}
			s.Close()
			_, _ = c.Read(make([]byte, 1))
			_, err = c.Write([]byte("again\n"))
			return err
		}, syscall.EPIPE},
	} {
		var texts [2]string
		for i, d := range []func(string) (sock, error){dialOurs, dialNets} {
			// A listener of its own: Accept takes this connection.
			path := tempSock(t)
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			c, err := d(path)
			if err != nil {
				t.Fatal(err)
			}
			err = tt.run(c, l)
			c.Close()
			l.Close()
			if !errors.Is(err, tt.cause) {
				t.Errorf("%s: %v does not wrap %v", tt.name, err, tt.cause)
			}
			if err != nil {
				texts[i] = strings.ReplaceAll(err.Error(), path, "PATH")
			}
		}
		if texts[0] != texts[1] {
			t.Errorf("%s: %q; net: %q", tt.name, texts[0], texts[1])
		}
	}
}
