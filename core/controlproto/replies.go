package controlproto

import (
	"fmt"
	"strconv"
	"strings"
)

// ReplySuperseded is what the original's manager, which serves one
// connection at a time, tells a client whose connection it dropped for a
// newer one. Ours never sends it.
const ReplySuperseded = "Command superseded by new command"

// unknownSuffix ends the reply to a command the manager does not know.
const unknownSuffix = "; 'help' for a list"

// ReplyUnknown is the reply to a command named name that the manager does
// not know, in the original's words.
func ReplyUnknown(name string) string {
	return fmt.Sprintf("Unknown command '%s'%s", name, unknownSuffix)
}

// IsUnknown reports whether reply says the manager does not know the
// command: the original's manager answers so to the commands we added
// (await, plugins).
func IsUnknown(reply string) bool {
	reply = strings.TrimSuffix(reply, "\n")
	return strings.HasPrefix(reply, "Unknown command ") && strings.HasSuffix(reply, unknownSuffix)
}

// Replies of "upgrade" (and of "version"), zdaemon's own commands.
const (
	// ReplyCannotUpgrade starts the reply of an upgrade that did not
	// happen; the reason follows. The manager that answers it is the old
	// one, still running.
	ReplyCannotUpgrade = "Cannot upgrade: "
	// ReplyUpgraded starts the reply of the new manager: "Upgraded
	// pid=N version=NEW from=OLD".
	ReplyUpgraded = "Upgraded "
)

// UpgradeReply is the new manager's answer to the upgrade it completed
// (white space in a version becomes "_": the reply is key=value words).
func UpgradeReply(pid int, version, from string) string {
	word := func(s string) string { return strings.Join(strings.Fields(s), "_") }
	return ReplyUpgraded + "pid=" + strconv.Itoa(pid) + " version=" + word(version) + " from=" + word(from)
}

// ParseUpgraded reads a reply of UpgradeReply; ok is false for any other.
func ParseUpgraded(reply string) (fields map[string]string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(reply), ReplyUpgraded)
	if !ok {
		return nil, false
	}
	fields = map[string]string{}
	for _, kv := range strings.Fields(rest) {
		k, v, _ := strings.Cut(kv, "=")
		fields[k] = v
	}
	return fields, true
}

// Replies to "reload [MILLISECONDS]". A reload that was sent answers
// "Sent SIGHUP to pid 123" (the signal's name, the program's pid); when
// the manager follows the reload on the notification socket, a second
// line says how it ended. The other replies are one line.
const (
	ReplyReloaded       = "Reloaded"
	ReplyReloadTimeout  = "Reload timed out"
	ReplyReloadExited   = "Reload ended: the program exited"
	ReplyReloadStarting = "Application still starting"
	ReplyReloadStopping = "Application stopping"
	ReplyReloadBusy     = "Reload already in progress"
	ReplyNotRunning     = "Application not running"
)
