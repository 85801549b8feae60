// Package child starts and reaps the processes a manager supervises.
//
// A Reaper owns every wait of the manager process: it reaps with
// wait4(-1, WNOHANG) on each SIGCHLD, so it also collects orphaned
// descendants that the kernel reparents to the manager when it is a child
// subreaper, and it delivers each supervised child's ExitStatus exactly once
// on that Process's Done channel. Processes are started with
// syscall.ForkExec, never os/exec, so that nothing else waits for them.
//
// The package knows nothing of restart policy or configuration files.
package child
