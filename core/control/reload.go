package control

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
