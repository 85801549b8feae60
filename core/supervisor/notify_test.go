package supervisor

import (
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zdaemon/zdaemon/core/manager"
)

// sendNotifyEnv makes the test binary a program that sends one datagram
// to $NOTIFY_SOCKET (for TestNotifySocketSenders).
const sendNotifyEnv = "ZD_TEST_SEND_NOTIFY"

func TestMain(m *testing.M) {
	if text := os.Getenv(sendNotifyEnv); text != "" {
		c, err := net.Dial("unixgram", os.Getenv("NOTIFY_SOCKET"))
		if err == nil {
			_, err = c.Write([]byte(text))
		}
		if err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Each datagram reaches the loop with its sender's pid, whoever sent it;
// READY=1 passed on reaches a notify check's end; what is left there is
// drained before the next start.
func TestNotifySocketSenders(t *testing.T) {
	path := filepath.Join(shortDir(t, "zdn"), "n")
	ns, err := bindNotify(path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.close()
	end, err := ns.checkEnd()
	if err != nil {
		t.Fatal(err)
	}
	next := func() manager.Notice {
		t.Helper()
		select {
		case n := <-ns.notices:
			return n
		case <-time.After(10 * time.Second):
			t.Fatal("no notice within 10s")
			return manager.Notice{}
		}
	}
	c, err := net.Dial("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("WATCHDOG=1"))
	if n := next(); n.Pid != os.Getpid() || n.Text != "WATCHDOG=1" {
		t.Fatalf("notice %+v, want from pid %d", n, os.Getpid())
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), sendNotifyEnv+"=STATUS=from a child", "NOTIFY_SOCKET="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if n := next(); n.Pid != cmd.Process.Pid || n.Text != "STATUS=from a child" {
		t.Fatalf("notice %+v, want from pid %d", n, cmd.Process.Pid)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	// The check's end, as the check plugin reads it (it is not the
	// manager's to block on).
	read := func() (string, error) {
		buf := make([]byte, 100)
		k, _, err := unix.Recvfrom(int(end.Fd()), buf, unix.MSG_DONTWAIT)
		if err != nil {
			return "", err
		}
		return string(buf[:k]), nil
	}
	ns.relay("READY=1\n")
	if got, err := read(); err != nil || got != "READY=1\n" {
		t.Fatalf("the check read %q, %v", got, err)
	}
	ns.relay("READY=1\n")
	ns.drain()
	if got, err := read(); err == nil {
		t.Fatalf("the check read a stale %q", got)
	}
}
