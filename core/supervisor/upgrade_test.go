package supervisor

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/zdaemon/zdaemon/core/manager"
)

// A shutdown signal that arrives before the snapshot goes to the manager's
// queue, where the snapshot hands it over; one that arrives after it ends
// the upgrade before the execve, and goes to this manager. Either way it
// is never lost. The executable does not exist: an upgrade that went on
// to the execve fails there, and says so.
func TestUpgradeExecKeepsShutdownSignals(t *testing.T) {
	const exe = "/nonexistent/zdrun"
	for _, tc := range []struct {
		name                 string
		before, afterSnap    os.Signal
		wantErr              string
		wantBefore, wantLate []os.Signal
	}{
		{"none", nil, nil, "execve '/nonexistent/zdrun'", nil, nil},
		{"before the snapshot", syscall.SIGINT, nil, "execve '/nonexistent/zdrun'", []os.Signal{syscall.SIGINT}, nil},
		{"after the snapshot", nil, syscall.SIGTERM, "SIGTERM arrived during the upgrade", nil, []os.Signal{syscall.SIGTERM}},
		{"both", syscall.SIGHUP, syscall.SIGTERM, "SIGTERM arrived during the upgrade", []os.Signal{syscall.SIGHUP}, []os.Signal{syscall.SIGTERM}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sigc := make(chan os.Signal, 4)
			signal.Notify(sigc, upgradeSignals...)
			defer signal.Stop(sigc)
			var delivered []os.Signal
			snapped := -1 // how many were delivered when the snapshot was taken
			u := &upgrader{
				exe: exe, version: "test", log: slog.New(slog.DiscardHandler),
				sigc: sigc, deliver: func(sig os.Signal) { delivered = append(delivered, sig) },
			}
			if tc.before != nil {
				sigc <- tc.before
			}
			err := u.Exec(context.Background(), func() manager.Handover {
				snapped = len(delivered)
				if tc.afterSnap != nil {
					sigc <- tc.afterSnap
				}
				return manager.Handover{}
			})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Exec: %v, want an error with %q", err, tc.wantErr)
			}
			if tc.afterSnap == nil && !errors.Is(err, syscall.ENOENT) {
				t.Fatalf("Exec: %v, want the execve's ENOENT", err)
			}
			if snapped < 0 {
				t.Fatal("no snapshot taken")
			}
			if got := delivered[:snapped]; !slices.Equal(got, tc.wantBefore) {
				t.Errorf("delivered before the snapshot %v, want %v", got, tc.wantBefore)
			}
			if got := delivered[snapped:]; !slices.Equal(got, tc.wantLate) {
				t.Errorf("delivered after the snapshot %v, want %v", got, tc.wantLate)
			}
			// Subscribed again: a signal now reaches sigc, not the
			// default action.
			if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			if sig := <-sigc; sig != syscall.SIGHUP {
				t.Fatalf("after the failed upgrade sigc got %v", sig)
			}
		})
	}
}
