package child

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zdaemon/zdaemon/core/resolve"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func startReaper(t *testing.T) *Reaper {
	t.Helper()
	r := NewReaper(slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func wait(t *testing.T, p *Process) ExitStatus {
	t.Helper()
	select {
	case st := <-p.Done():
		return st
	case <-time.After(10 * time.Second):
		_ = p.Signal(syscall.SIGKILL, true)
		t.Fatalf("pid %d did not exit", p.Pid())
		return ExitStatus{}
	}
}

func spec(t *testing.T, argv ...string) Spec {
	t.Helper()
	path, err := resolve.Program(argv[0], os.Getenv("PATH"))
	if err != nil {
		t.Fatal(err)
	}
	return Spec{Path: path, Argv: argv, Env: os.Environ()}
}

func TestExitStatuses(t *testing.T) {
	r := startReaper(t)
	tests := []struct {
		argv []string
		sig  syscall.Signal
		want string
	}{
		{[]string{"true"}, 0, "exit status 0"},
		{[]string{"sh", "-c", "exit 7"}, 0, "exit status 7"},
		{[]string{"sleep", "100"}, syscall.SIGTERM, "terminated by SIGTERM"},
		{[]string{"sleep", "100"}, syscall.SIGKILL, "terminated by SIGKILL"},
	}
	for _, tt := range tests {
		p, err := r.Start(spec(t, tt.argv...))
		if err != nil {
			t.Fatal(err)
		}
		if tt.sig != 0 {
			if err := p.Signal(tt.sig, false); err != nil {
				t.Fatal(err)
			}
		}
		if got := wait(t, p).String(); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.argv, got, tt.want)
		}
		if err := p.Signal(syscall.SIGTERM, true); err != nil {
			t.Errorf("signalling a dead process group: %v", err)
		}
	}
}

func TestGroupSignalReachesDescendants(t *testing.T) {
	r := startReaper(t)
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "pid")
	p, err := r.Start(spec(t, "sh", "-c", "sleep 100 & echo $! > "+pidfile+"; wait"))
	if err != nil {
		t.Fatal(err)
	}
	var grandchild int
	deadline := time.Now().Add(5 * time.Second)
	for grandchild == 0 && time.Now().Before(deadline) {
		data, _ := os.ReadFile(pidfile)
		if s := strings.TrimSpace(string(data)); s != "" {
			grandchild = atoi(s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if grandchild == 0 {
		t.Fatal("no grandchild pid")
	}
	pgid, _ := syscall.Getpgid(grandchild)
	if pgid != p.Pid() {
		t.Fatalf("grandchild in group %d, want %d", pgid, p.Pid())
	}
	if err := p.Signal(syscall.SIGKILL, true); err != nil {
		t.Fatal(err)
	}
	wait(t, p)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(grandchild, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("grandchild %d survived the group SIGKILL", grandchild)
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func TestExecFailure(t *testing.T) {
	r := startReaper(t)
	dir := t.TempDir()
	notExec := filepath.Join(dir, "x")
	os.WriteFile(notExec, []byte("data"), 0o644)
	_, err := r.Start(Spec{Path: notExec, Argv: []string{"x"}})
	if err == nil || !strings.HasPrefix(err.Error(), "can't exec '"+notExec+"'") {
		t.Fatalf("error %v", err)
	}
}

// The test process is not a subreaper, so orphans go to init: Sweep is
// exercised on descendants still attached to us.
func TestReapsOrphans(t *testing.T) {
	// A child that leaves a grandchild behind: with the reaper running, the
	// child's own exit is still delivered exactly once.
	r := startReaper(t)
	p, err := r.Start(spec(t, "sh", "-c", "exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	if st := wait(t, p); st.Code != 3 {
		t.Fatalf("status %v", st)
	}
	if _, ok := <-p.Done(); ok {
		t.Fatal("Done delivered twice")
	}
}

func TestSweepFindsEscapedDescendants(t *testing.T) {
	r := startReaper(t)
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "pids")
	// A child that starts a grandchild in a new session (out of the
	// group) and one that ignores SIGTERM.
	p, err := r.Start(spec(t, "sh", "-c",
		"setsid sleep 100 & echo $! >> "+pidfile+"; (trap '' TERM; exec sleep 100) & echo $! >> "+pidfile+"; wait"))
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	deadline := time.Now().Add(5 * time.Second)
	for len(pids) < 2 && time.Now().Before(deadline) {
		data, _ := os.ReadFile(pidfile)
		pids = nil
		for _, f := range strings.Fields(string(data)) {
			pids = append(pids, atoi(f))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(pids) < 2 {
		t.Fatal("no grandchildren")
	}
	// The sh and both grandchildren are our descendants, whatever their
	// process group or session.
	killed, err := Sweep(os.Getpid(), nil)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, p)
	for _, pid := range append(pids, p.Pid()) {
		found := false
		for _, k := range killed {
			found = found || k == pid
		}
		if !found {
			t.Errorf("pid %d not swept (killed %v)", pid, killed)
		}
	}
}

// The children files of our threads and theirs find the same descendants
// as the parents of every process in /proc, with their process groups.
func TestDescendantsFromChildrenFiles(t *testing.T) {
	if _, ok := childrenOf(os.Getpid(), make([]byte, 4096)); !ok {
		t.Skip("no /proc/PID/task/TID/children on this kernel")
	}
	r := startReaper(t)
	p, err := r.Start(spec(t, "sh", "-c", "sleep 100 & (setsid sleep 100 & wait) & wait"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := Sweep(os.Getpid(), nil); err != nil {
			t.Error(err)
		}
		wait(t, p)
	}()
	key := func(ds []descendant) map[descendant]bool {
		m := map[descendant]bool{}
		for _, d := range ds {
			m[d] = true
		}
		return m
	}
	var got, want map[descendant]bool
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		tree, err := descendants(os.Getpid(), make([]byte, 4096))
		if err != nil {
			t.Fatal(err)
		}
		all, err := descendantsFromAll(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		got, want = key(tree), key(all)
		// sh, its two children, and the subshell's sleep (setsid ran
		// and exec'd, or is still about to).
		if len(want) >= 4 && maps.Equal(got, want) {
			break
		}
	}
	if len(want) < 4 || !maps.Equal(got, want) {
		t.Fatalf("children files found %v, /proc's parents %v", got, want)
	}
	if !got[descendant{pid: p.Pid(), pgid: p.Pid()}] {
		t.Fatalf("the child %d (its own group) not among %v", p.Pid(), got)
	}
}

// A child with PidEnv gets those variables set to its own pid, and no
// descriptor of the trampoline's; one that cannot be executed fails
// Start with the error it gets without a trampoline.
func TestPidEnv(t *testing.T) {
	r := startReaper(t)
	self := trampoline(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	sp := spec(t, "sh", "-c", `test -e /proc/$$/fd/3 && fd3=open || fd3=closed; echo "$WATCHDOG_PID $LISTEN_PID $$ $fd3" > "$0"`, out)
	sp.Env = append(sp.Env, "WATCHDOG_PID=stale")
	sp.PidEnv, sp.Trampoline = []string{"WATCHDOG_PID", "LISTEN_PID"}, self
	p, err := r.Start(sp)
	if err != nil {
		t.Fatal(err)
	}
	if st := wait(t, p); st.Code != 0 {
		t.Fatalf("exit %v", st)
	}
	got, _ := os.ReadFile(out)
	lines := strings.Fields(string(got))
	pid := strconv.Itoa(p.Pid())
	// fd 3 was the trampoline's report pipe.
	if len(lines) != 4 || lines[0] != pid || lines[1] != pid || lines[2] != pid || lines[3] != "closed" {
		t.Fatalf("pid %s, program wrote %q", pid, got)
	}
	for _, path := range []string{"/nonexistent/prog", dir} {
		direct := Spec{Path: path, Argv: []string{"prog"}}
		_, want := r.Start(direct)
		via := direct
		via.PidEnv, via.Trampoline = []string{"WATCHDOG_PID"}, self
		_, err := r.Start(via)
		if err == nil || want == nil || err.Error() != want.Error() || !errors.Is(err, errors.Unwrap(want)) {
			t.Errorf("%s: through the trampoline %v, directly %v", path, err, want)
		}
	}
}
