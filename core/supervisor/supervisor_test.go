package supervisor

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/controlproto"
	"github.com/zdaemon/zdaemon/core/daemon"
)

// A job runs in process on a short temporary socket with a real program:
// it answers over the control socket, stops (by a stop request, or by the
// caller's context as by SIGTERM) and leaves neither its program nor its
// socket behind.
func TestJobRunStop(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep program")
	}
	tests := []struct {
		name string
		stop func(ctx context.Context, cancel context.CancelFunc, sock string) error
		code int
	}{
		{"stop request", func(ctx context.Context, _ context.CancelFunc, sock string) error {
			_, err := controlproto.Do(ctx, sock, "stop")
			return err
		}, 0},
		// A cancelled job stops its program as SIGTERM does, and exits with
		// the program's status: it died of the SIGTERM, 128+15.
		{"context cancelled", func(_ context.Context, cancel context.CancelFunc, _ string) error {
			cancel()
			return nil
		}, 143},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock := shortSocket(t)
			cfg := config.Default()
			cfg.Program = []string{"sleep", "100"}
			cfg.Filename = sleep
			cfg.SocketName = sock
			cfg.Daemon = false
			cfg.StartGrace = 0

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan int, 1)
			go func() {
				done <- (&Job{Config: cfg, Stderr: os.Stderr}).Run(ctx)
			}()

			deadline := time.Now().Add(30 * time.Second)
			var st controlproto.Status
			for {
				rctx, rcancel := context.WithDeadline(context.Background(), deadline)
				reply, err := controlproto.Do(rctx, sock, "status")
				rcancel()
				var ok bool
				if err == nil {
					st, ok = controlproto.ParseStatus(reply)
				}
				if ok && st.Application != 0 {
					break
				}
				select {
				case code := <-done:
					t.Fatalf("job ended with %d before its program ran", code)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("no program after 30s: %v %q", err, reply)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if st.Manager != os.Getpid() {
				t.Errorf("manager pid %d, want this process %d", st.Manager, os.Getpid())
			}
			sctx, scancel := context.WithDeadline(context.Background(), deadline)
			defer scancel()
			if err := tt.stop(sctx, cancel, sock); err != nil {
				t.Fatalf("stop: %v", err)
			}
			select {
			case code := <-done:
				if code != tt.code {
					t.Errorf("exit status %d, want %d", code, tt.code)
				}
			case <-time.After(time.Until(deadline)):
				t.Fatal("the job did not end")
			}
			if err := syscall.Kill(st.Application, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("program %d left behind: kill 0: %v", st.Application, err)
			}
			if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("socket left behind: %v", err)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(sock), "*")); len(left) > 0 {
				t.Errorf("files left behind: %s", strings.Join(left, " "))
			}
		})
	}
}

// A job with plugins given to a manager without them fails before it
// listens or runs anything, and says why.
func TestJobWithPluginsNeedsPlugins(t *testing.T) {
	tests := []struct {
		name string
		set  func(*config.Config)
		need bool
	}{
		{"no plugins", func(*config.Config) {}, false},
		{"transcript, attached", func(c *config.Config) { c.Sink = &config.PluginConfig{Kind: "file"}; c.Daemon = false }, false},
		{"transcript, daemon", func(c *config.Config) { c.Sink = &config.PluginConfig{Kind: "file"}; c.Daemon = true }, true},
		{"start test", func(c *config.Config) {
			c.StartTest = &config.CheckConfig{PluginConfig: config.PluginConfig{Kind: "program"}}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Daemon = false
			tt.set(cfg)
			cfg.SocketName = shortSocket(t)
			if got := daemon.NeedsPlugins(cfg); got != tt.need {
				t.Fatalf("NeedsPlugins = %v, want %v", got, tt.need)
			}
			if !tt.need {
				return
			}
			var stderr strings.Builder
			if code := (&Job{Config: cfg, Stderr: &stderr}).Run(context.Background()); code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if want := "Error: " + errNoPlugins.Error() + "\n"; stderr.String() != want {
				t.Errorf("stderr %q, want %q", stderr.String(), want)
			}
			if _, err := os.Stat(cfg.SocketName); err == nil {
				t.Error("the job created its socket")
			}
		})
	}
}

// shortSocket is a socket path in a new temporary directory that the test
// removes: t.TempDir's paths can outgrow sun_path's 108 bytes.
func shortSocket(t *testing.T) string {
	t.Helper()
	return filepath.Join(shortDir(t, "zds"), "sock")
}

// shortDir is a new directory, removed after the test, in $TMPDIR, or in
// /tmp when $TMPDIR is too long for the sockets made below it (the
// manager and go-plugin add up to 46 bytes below a plugin socket
// directory).
func shortDir(t *testing.T, prefix string) string {
	t.Helper()
	base := os.TempDir()
	if len(base) > 12 { // TestOpenPluginDirFallback's is in one of these
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
