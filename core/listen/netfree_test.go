package listen

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// interfaceIndex finds interfaces as net.InterfaceByName does, and fails
// in its words.
func TestInterfaceIndexIsNets(t *testing.T) {
	names := []string{"lo", "zd-no-such0", strings.Repeat("x", 40)}
	if ift, err := net.Interfaces(); err == nil {
		for _, ifi := range ift {
			names = append(names, ifi.Name)
		}
	}
	for _, name := range names {
		index, err := interfaceIndex(name)
		ifi, werr := net.InterfaceByName(name)
		switch {
		case werr != nil:
			if err == nil || err.Error() != werr.Error() {
				t.Errorf("interfaceIndex(%q) = %d, %v; net: %v", name, index, err, werr)
			}
		case err != nil || index != ifi.Index:
			t.Errorf("interfaceIndex(%q) = %d, %v; net: %d", name, index, err, ifi.Index)
		}
	}
}

// probeUnix connects as net.DialUnix does, and fails in its words.
func TestProbeUnixIsNets(t *testing.T) {
	dir := t.TempDir()
	listening := filepath.Join(dir, "listening")
	l, err := net.Listen("unix", listening)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	stale := filepath.Join(dir, "stale")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: stale}); err != nil {
		t.Fatal(err)
	}
	syscall.Close(fd) // bound, never listened, closed: refuses
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{listening, stale, file, filepath.Join(dir, "missing"), "/" + strings.Repeat("x", 200)} {
		err := probeUnix(path)
		c, werr := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
		if werr == nil {
			c.Close()
		}
		if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
			t.Errorf("probeUnix(%s): %v; net: %v", path, err, werr)
		}
	}
}

// sockName writes addresses as net.JoinHostPort of net.IP's String does.
func TestSockNameIsNets(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "0.0.0.0", "::1", "::", "fe80::1", "::ffff:10.1.2.3", "2001:db8::1:0:0:1", "1:2:3:4:5:6:7:8"} {
		ip := net.ParseIP(s)
		var sa unix.Sockaddr
		if ip4 := ip.To4(); ip4 != nil && !strings.Contains(s, ":") {
			sa = &unix.SockaddrInet4{Port: 8080, Addr: [4]byte(ip4)}
		} else {
			sa = &unix.SockaddrInet6{Port: 8080, Addr: [16]byte(ip.To16())}
		}
		if got, want := sockName(sa), net.JoinHostPort(ip.String(), "8080"); got != want {
			t.Errorf("sockName(%s) = %s, want %s", s, got, want)
		}
	}
	if got := sockName(&unix.SockaddrUnix{Name: "/run/a.sock"}); got != "unix:/run/a.sock" {
		t.Errorf("sockName(unix) = %s", got)
	}
}
