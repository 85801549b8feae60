package child

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// trampoline builds cmd/zdexec for one test (the build cache makes the
// second build quick).
func trampoline(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "zdexec")
	build := exec.Command("go", "build", "-o", path, "../../cmd/zdexec")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build zdexec: %v\n%s", err, out)
	}
	return path
}

// describeSelf is a program that prints what it got: argv, environment,
// descriptors, process group, signal dispositions and mask. The mask is
// read by a process of its own (exec'd, so it has the shell's): the
// shell's own, read from a child, is all blocked while the shell forks
// (dash blocks every signal around fork), which a loaded machine shows.
const describeSelf = `echo "argv0=$0 args=$*"
echo "pid=$$ LISTEN_PID=$LISTEN_PID"
env | grep -v '^LISTEN_PID=' | grep -v '^_=' | grep -v '^PWD=' | grep -v '^SHLVL=' | sort
echo "fds: $(ls /proc/$$/fd | sort -n | tr '\n' ' ')"
echo "fd3: $(cat <&3)"
echo "pgid: $(cut -d' ' -f5 /proc/$$/stat) sid: $(cut -d' ' -f6 /proc/$$/stat)"
exec grep -E '^Sig(Blk|Ign)' /proc/self/status
`

// The trampoline keeps every promise of a direct start: the same argv,
// environment, descriptors (and fd 3+len(Extra) closed), process group and
// signal dispositions; it adds only LISTEN_PID, which is the program's
// own pid.
func TestTrampolineKeepsTheProgramsWorld(t *testing.T) {
	zdexec := trampoline(t)
	r := startReaper(t)
	dir := t.TempDir()
	run := func(tramp string) (string, int) {
		out, err := os.Create(filepath.Join(dir, "out"+strconv.Itoa(len(tramp))))
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		pw.WriteString("from the pipe")
		pw.Close()
		defer pr.Close()
		sp := spec(t, "sh", "-c", describeSelf, "my-argv0", "a b", "c")
		sp.Env = append(sp.Env, "ZD_TEST_A=1", "EMPTY=")
		sp.Stdout, sp.Stderr = out, out
		sp.Extra = []*os.File{pr}
		sp.DeathSignal = syscall.SIGKILL
		if tramp != "" {
			sp.Trampoline, sp.PidEnv = tramp, []string{"LISTEN_PID"}
		}
		p, err := r.Start(sp)
		if err != nil {
			t.Fatal(err)
		}
		if st := wait(t, p); st.Code != 0 {
			t.Fatalf("exit %v", st)
		}
		b, _ := os.ReadFile(out.Name())
		return string(b), p.Pid()
	}
	direct, _ := run("")
	via, pid := run(zdexec)
	want := strings.Replace(direct, "LISTEN_PID=\n", "LISTEN_PID="+strconv.Itoa(pid)+"\n", 1)
	// The pids differ between the two runs; LISTEN_PID must be the
	// program's own.
	wantLines, gotLines := strings.Split(want, "\n"), strings.Split(via, "\n")
	if len(wantLines) != len(gotLines) {
		t.Fatalf("direct:\n%s\nthrough zdexec:\n%s", direct, via)
	}
	for i := range wantLines {
		w, g := wantLines[i], gotLines[i]
		if strings.HasPrefix(w, "pid=") {
			if g != "pid="+strconv.Itoa(pid)+" LISTEN_PID="+strconv.Itoa(pid) {
				t.Errorf("through zdexec: %q, want pid=LISTEN_PID=%d", g, pid)
			}
			continue
		}
		if strings.HasPrefix(w, "pgid:") {
			if g != "pgid: "+strconv.Itoa(pid)+" sid: "+strings.Fields(w)[3] {
				t.Errorf("through zdexec: %q, want its own group %d, session as direct (%s)", g, pid, w)
			}
			continue
		}
		if w != g {
			t.Errorf("line %d: direct %q, through zdexec %q", i, w, g)
		}
	}
	if testing.Verbose() {
		t.Logf("through zdexec:\n%s", via)
	}
}

// A program the trampoline cannot execute is Start's error, in the same
// words as without it; the trampoline's own exit (127) is reaped.
func TestTrampolineExecFailure(t *testing.T) {
	zdexec := trampoline(t)
	r := startReaper(t)
	dir := t.TempDir()
	notExec := filepath.Join(dir, "x")
	os.WriteFile(notExec, []byte("data"), 0o644)
	_, direct := r.Start(Spec{Path: notExec, Argv: []string{"x"}})
	_, via := r.Start(Spec{Path: notExec, Argv: []string{"x"}, Trampoline: zdexec, PidEnv: []string{"LISTEN_PID"}})
	if direct == nil || via == nil || direct.Error() != via.Error() {
		t.Fatalf("direct %v, through zdexec %v: want the same error", direct, via)
	}
	_, err := r.Start(Spec{Path: "/bin/true", Argv: []string{"true"}, Trampoline: filepath.Join(dir, "no-zdexec"), PidEnv: []string{"LISTEN_PID"}})
	if err == nil || !strings.Contains(err.Error(), "no-zdexec") {
		t.Errorf("missing trampoline: %v", err)
	}
}

// BenchmarkStart is what the trampoline costs: starting /bin/true and
// reaping it, directly and through zdexec.
func BenchmarkStart(b *testing.B) {
	path := filepath.Join(b.TempDir(), "zdexec")
	build := exec.Command("go", "build", "-o", path, "../../cmd/zdexec")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build zdexec: %v\n%s", err, out)
	}
	r := NewReaper(slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for _, bb := range []struct{ name, tramp string }{{"direct", ""}, {"zdexec", path}} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				sp := Spec{Path: "/bin/true", Argv: []string{"true"}}
				if bb.tramp != "" {
					sp.Trampoline, sp.PidEnv = bb.tramp, []string{"LISTEN_PID"}
				}
				p, err := r.Start(sp)
				if err != nil {
					b.Fatal(err)
				}
				<-p.Done()
			}
		})
	}
}
