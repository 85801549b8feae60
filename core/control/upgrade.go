package control

import (
	"strconv"
	"strings"
)

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
