package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// LogtailCommand is "logtail [FILE]": the last lines of a log file, then
// follow it like tail -f until Ctrl-C.
type LogtailCommand struct{ *Meta }

// LogtailArgs are logtail's: the file (logfile when empty).
type LogtailArgs struct{ File string }

func (c *LogtailCommand) Synopsis() string { return "Follow a log file like tail -f" }
func (c *LogtailCommand) Help() string {
	return helpText("logtail [FILE]", "logtail", "", "0  always: after Ctrl-C, and when the file cannot be read (as the original)")
}

// tailWindow and tailLines are the original's: the last 10 lines found in
// the last KiB.
const (
	tailWindow = 1024
	tailLines  = 10
	tailPoll   = 250 * time.Millisecond
)

func (c *LogtailCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

func (c *LogtailCommand) ParseArgs(args []string) (*LogtailArgs, int) {
	return &LogtailArgs{File: joinArg(args)}, 0
}

// RunContext follows the file until Ctrl-C, SIGTERM or the end of ctx;
// a missing file gets the original's answer (exit 0).
func (c *LogtailCommand) RunContext(ctx context.Context, a *LogtailArgs) int {
	file := a.File
	if file == "" {
		file = c.Cfg.Logfile
	}
	if file == "" {
		fmt.Fprintln(c.Out, "No default log file specified; use logtail <logfile>")
		return 0
	}
	f, err := os.Open(file)
	if err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			fmt.Fprintln(c.Out, osErrorText(err, file))
		} else {
			fmt.Fprintln(c.Out, err)
		}
		return 0
	}
	defer f.Close()
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigc)
	defer context.AfterFunc(ctx, func() {
		select {
		case sigc <- os.Interrupt:
		default:
		}
	})()
	return c.follow(f, sigc)
}

// follow prints the tail of f and then what is appended to it, noticing
// truncation, until a signal arrives.
func (c *LogtailCommand) follow(f *os.File, stop <-chan os.Signal) int {
	st, err := f.Stat()
	if err != nil {
		fmt.Fprintln(c.Out, err)
		return 0
	}
	size := st.Size()
	start := max(size-tailWindow, 0)
	buf := make([]byte, size-start)
	if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
		fmt.Fprintln(c.Out, err)
		return 0
	}
	if start > 0 { // drop the partial first line of the window
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	lines := bytes.SplitAfter(buf, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	lines = lines[max(len(lines)-tailLines, 0):]
	_, _ = c.Out.Write(bytes.Join(lines, nil))
	pos := size
	tick := time.NewTicker(tailPoll)
	defer tick.Stop()
	chunk := make([]byte, 32*1024)
	for {
		select {
		case <-stop:
			fmt.Fprintln(c.Out)
			return 0
		case <-tick.C:
		}
		st, err := f.Stat()
		if err != nil {
			continue
		}
		if st.Size() < pos {
			fmt.Fprintln(c.Out, "==> File truncated <==")
			pos = 0
		}
		for pos < st.Size() {
			n, err := f.ReadAt(chunk, pos)
			_, _ = c.Out.Write(chunk[:n])
			pos += int64(n)
			if err != nil {
				break
			}
		}
	}
}
