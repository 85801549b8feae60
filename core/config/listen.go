package config

import "fmt"

// ListenBlock is the job file's block of a held listen socket:
// listen "NAME" { address = "…" }. It names the Sources keys of listen
// settings.
const ListenBlock = "listen"

// ListenSource is the Sources key of the i-th listen block's attribute
// ("address", "backlog"), or of its label with attr "".
func ListenSource(i int, attr string) string {
	if attr == "" {
		return fmt.Sprintf("%s/%d", ListenBlock, i)
	}
	return fmt.Sprintf("%s/%d/%s", ListenBlock, i, attr)
}
