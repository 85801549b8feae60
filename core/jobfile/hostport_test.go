package jobfile

import (
	"net"
	"testing"
)

// splitPortCases are host:port words that net.SplitHostPort accepts and
// refuses, each for one of its rules.
var splitPortCases = []string{
	"127.0.0.1:9150", "localhost:80", ":9150", "host:", "[::1]:9150", "[fe80::1%eth0]:80",
	"[::1]", "::1:80", "host", "", "[::1]x:80", "[::1]:80:90", "[::1:80", "ho]st:80",
	"h[ost:80", "[h[o]st:80", "[host]]:80", "[]:80", ":", "a:b:c", "[a]:b]",
}

// splitPort accepts what net.SplitHostPort accepts, with the same port.
func TestSplitPortIsNets(t *testing.T) {
	for _, hp := range splitPortCases {
		checkSplitPort(t, hp)
	}
}

func FuzzSplitPort(f *testing.F) {
	for _, hp := range splitPortCases {
		f.Add(hp)
	}
	f.Fuzz(checkSplitPort)
}

func checkSplitPort(t *testing.T, hp string) {
	_, wantPort, err := net.SplitHostPort(hp)
	port, ok := splitPort(hp)
	if ok != (err == nil) || port != wantPort {
		t.Errorf("splitPort(%q) = %q, %v; net.SplitHostPort: %q, %v", hp, port, ok, wantPort, err)
	}
}
