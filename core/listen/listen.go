// Package listen owns the listen sockets a manager holds for its program
// (a job's listen blocks), as systemd's socket units and s6's fd holder do:
// it parses their addresses, binds them once (or adopts descriptors that
// are already open, for a manager that takes over from another), keeps
// them for the manager's whole life so that connections queue in their
// backlog while the program restarts, and hands them to the program the
// way sd_listen_fds(3) expects: descriptors 3, 4, … with LISTEN_FDS and
// LISTEN_FDNAMES. LISTEN_PID must be the program's own pid, which only a
// process that is already the program can know: the exec trampoline
// zdexec (core/child) sets it right before it executes the program.
//
// The package knows nothing of job files or processes; it never accepts a
// connection.
package listen

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Spec is one listen socket to hold.
type Spec struct {
	// Name is the socket's name in LISTEN_FDNAMES.
	Name string `json:"name"`
	// Address is "HOST:PORT", "[V6]:PORT" or "unix:/path".
	Address string `json:"address"`
	// Backlog is listen(2)'s backlog; 0 is the kernel's SOMAXCONN.
	Backlog int `json:"backlog,omitempty"`
	// Mode is a unix socket's permission bits (connecting needs write
	// permission); 0 is DefaultMode.
	Mode uint32 `json:"mode,omitempty"`
}

// DefaultMode is a unix listen socket's mode when the job gives none, as
// systemd's SocketMode: anyone may connect (the program's clients are
// usually other users, a web server's proxy); the directory it is in
// decides who reaches it.
const DefaultMode = 0o666

// Address is a parsed listen address.
type Address struct {
	// Network is "tcp" or "unix".
	Network string
	// AddrPort is a TCP address (Network "tcp").
	AddrPort netip.AddrPort
	// Path is a unix socket's path (Network "unix").
	Path string
}

// String is the address as a job file writes it.
func (a Address) String() string {
	if a.Network == "unix" {
		return "unix:" + a.Path
	}
	return a.AddrPort.String()
}

// MaxPath is the longest unix socket path (sun_path is 108 bytes with its
// terminating NUL).
const MaxPath = 107

// MaxBacklog is the largest backlog a job may ask for (the kernel caps it
// at net.core.somaxconn anyway).
const MaxBacklog = 65535

// ParseAddress parses a listen address: an IP address with a port
// ("127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80") or "unix:" and an
// absolute path. Host names are refused: what a name resolves to may
// change, and the manager binds once.
func ParseAddress(s string) (Address, error) {
	if rest, ok := strings.CutPrefix(s, "unix:"); ok {
		switch {
		case rest == "":
			return Address{}, errors.New(`"unix:" needs a path, e.g. "unix:/run/app/http.sock"`)
		case !strings.HasPrefix(rest, "/"):
			return Address{}, fmt.Errorf("the unix socket path %q is not absolute", rest)
		case len(rest) > MaxPath:
			return Address{}, fmt.Errorf("the unix socket path is %d bytes long; the limit is %d", len(rest), MaxPath)
		case strings.ContainsRune(rest, 0):
			return Address{}, errors.New("the unix socket path contains a NUL byte")
		case strings.HasSuffix(rest, "/"):
			return Address{}, fmt.Errorf("the unix socket path %q names a directory", rest)
		}
		return Address{Network: "unix", Path: rest}, nil
	}
	host, port, ok := cutPort(s)
	if !ok {
		return Address{}, fmt.Errorf("%q is not HOST:PORT, [IPV6]:PORT or unix:/PATH", s)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 || port[0] == '+' {
		return Address{}, fmt.Errorf("the port %q is not a number from 1 to 65535", port)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" && !ip.Is6() {
		return Address{}, fmt.Errorf("the host %q is not an IP address (host names are not resolved: write 127.0.0.1, [::1] or 0.0.0.0)", host)
	}
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	return Address{Network: "tcp", AddrPort: netip.AddrPortFrom(ip, uint16(n))}, nil
}

// cutPort splits "host:port" and "[v6]:port".
func cutPort(s string) (host, port string, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 || !strings.HasPrefix(s[end+1:], ":") {
			return "", "", false
		}
		return s[1:end], s[end+2:], true
	}
	i := strings.LastIndex(s, ":")
	if i < 0 || strings.Contains(s[:i], ":") {
		return "", "", false // a bare IPv6 address needs brackets
	}
	return s[:i], s[i+1:], true
}

// CheckName says why name cannot be a listen socket's name, or nil: it
// goes into LISTEN_FDNAMES, which separates names with ':', and
// sd_listen_fds_with_names(3) takes at most 255 printable ASCII
// characters.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("the name is empty")
	case len(name) > 255:
		return fmt.Errorf("the name is %d characters long; LISTEN_FDNAMES allows 255", len(name))
	}
	for _, r := range name {
		switch {
		case r == ':':
			return errors.New("the name contains ':', which separates the names in LISTEN_FDNAMES")
		case r <= ' ' || r > '~':
			return fmt.Errorf("the name contains %q; use printable ASCII characters other than ':' and space", r)
		}
	}
	return nil
}

// Env is what the program's environment gets for the sockets named names:
// LISTEN_FDS and LISTEN_FDNAMES (LISTEN_PID is the trampoline's to set).
func Env(names []string) []string {
	return []string{
		"LISTEN_FDS=" + strconv.Itoa(len(names)),
		"LISTEN_FDNAMES=" + strings.Join(names, ":"),
	}
}

// EnvNames are the variables of socket activation: a manager drops them
// from what it inherited, so that a program gets only its own.
var EnvNames = []string{"LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PID"}
