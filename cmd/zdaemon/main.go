// Command zdaemon runs a program as a POSIX daemon and keeps it alive. It is
// a drop-in replacement for Zope's zdaemon: same command line, same output,
// same control socket protocol. See the README for the reference.
package main

import (
	"os"

	"github.com/zdaemon/zdaemon/cmd/zdaemon/command"
)

func main() {
	os.Exit(command.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
