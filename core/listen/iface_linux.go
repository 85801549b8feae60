package listen

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

var errNoSuchInterface = errors.New("no such network interface")

// interfaceIndex is the index of the network interface named name (an
// IPv6 zone), found as net.InterfaceByName finds it: by its name in the
// kernel's link table, read over netlink. Its errors read as that
// function's do ("route ip+net: no such network interface"); the package
// does without net, which the zdaemon client does not link.
func interfaceIndex(name string) (int, error) {
	err := errNoSuchInterface
	tab, rerr := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if rerr != nil {
		err = os.NewSyscallError("netlinkrib", rerr)
	} else if msgs, perr := syscall.ParseNetlinkMessage(tab); perr != nil {
		err = os.NewSyscallError("parsenetlinkmessage", perr)
	} else {
		for _, m := range msgs {
			if m.Header.Type == syscall.NLMSG_DONE {
				break
			}
			if m.Header.Type != syscall.RTM_NEWLINK || len(m.Data) < syscall.SizeofIfInfomsg {
				continue
			}
			ifim := (*syscall.IfInfomsg)(unsafe.Pointer(&m.Data[0]))
			attrs, aerr := syscall.ParseNetlinkRouteAttr(&m)
			if aerr != nil {
				err = os.NewSyscallError("parsenetlinkrouteattr", aerr)
				break
			}
			for _, a := range attrs {
				if a.Attr.Type == syscall.IFLA_IFNAME && len(a.Value) > 0 && string(a.Value[:len(a.Value)-1]) == name {
					return int(ifim.Index), nil
				}
			}
		}
	}
	return 0, fmt.Errorf("route ip+net: %w", err)
}
