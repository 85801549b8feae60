// Command counter waits for SIGUSR1, then writes the lines "0\n", "1\n",
// ... to stdout as fast as it can, forever, and keeps in the file named by its argument (8 bytes,
// shared memory) how many bytes its completed writes have handed to
// stdout: when it is killed, that file says how much it wrote.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: counter PROGRESS-FILE")
		os.Exit(2)
	}
	// Ready for the signal before the progress file exists.
	start := make(chan os.Signal, 1)
	signal.Notify(start, syscall.SIGUSR1)
	f, err := os.OpenFile(os.Args[1], os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Truncate(8); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, 8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	written := (*uint64)(unsafe.Pointer(&mem[0]))
	<-start
	buf := make([]byte, 0, 8192)
	var total uint64
	for i := 0; ; {
		buf = buf[:0]
		for len(buf) < 4096 {
			buf = strconv.AppendInt(buf, int64(i), 10)
			buf = append(buf, '\n')
			i++
		}
		// Plain write(2)s: the count covers exactly the bytes the kernel
		// took (a signal may cut a write short; the rest follows).
		for b := buf; len(b) > 0; {
			n, err := syscall.Write(1, b)
			if n > 0 {
				total += uint64(n)
				atomic.StoreUint64(written, total)
				b = b[n:]
			}
			if err != nil && err != syscall.EINTR && err != syscall.EAGAIN {
				os.Exit(1)
			}
		}
	}
}
