//go:build unix && !linux

package listen

import "net"

// interfaceIndex is the index of the network interface named name (an
// IPv6 zone).
func interfaceIndex(name string) (int, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}
