package logfile

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/goleak"

	"github.com/zdaemon/zdaemon/plugins/transcript"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startSink runs a file sink behind a real gRPC connection and returns the
// host side and the write end of its input pipe.
func startSink(t *testing.T, cfg transcript.Config, impl *Sink) (transcript.Sink, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	sink := transcript.TestSink(t, impl, r)
	if err := sink.Start(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	return sink, w
}

func drain(t *testing.T, sink transcript.Sink, w *os.File) transcript.Status {
	t.Helper()
	w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := sink.Drain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestCopiesExactly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.log")
	sink, w := startSink(t, transcript.Config{"path": path}, &Sink{})
	var want bytes.Buffer
	for i := range 1000 {
		line := fmt.Sprintf("line %d %s\n", i, strings.Repeat("x", i%97))
		want.WriteString(line)
		w.WriteString(line)
	}
	w.Write([]byte("no newline at the end \x00\xff"))
	want.WriteString("no newline at the end \x00\xff")
	st := drain(t, sink, w)
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("file differs: %d bytes, want %d", len(got), want.Len())
	}
	if st.BytesWritten != uint64(want.Len()) || st.Destination != path || st.Error != "" {
		t.Fatalf("status %+v", st)
	}
}

func TestReopenAfterRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log")
	sink, w := startSink(t, transcript.Config{"path": path}, &Sink{})
	ctx := context.Background()
	w.WriteString("rec 1\n")
	waitFor(t, path, "rec 1\n")
	os.Rename(path, path+".1")
	w.WriteString("rec 2\n")
	waitFor(t, path+".1", "rec 1\nrec 2\n")
	if err := sink.Reopen(ctx); err != nil {
		t.Fatal(err)
	}
	w.WriteString("rec 3\n")
	drain(t, sink, w)
	if got, _ := os.ReadFile(path); string(got) != "rec 3\n" {
		t.Fatalf("new file %q", got)
	}
	if got, _ := os.ReadFile(path + ".1"); string(got) != "rec 1\nrec 2\n" {
		t.Fatalf("old file %q", got)
	}
}

func waitFor(t *testing.T, path, content string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got, _ := os.ReadFile(path); string(got) == content {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	got, _ := os.ReadFile(path)
	t.Fatalf("%s holds %q, want %q", path, got, content)
}

func TestRotateBySize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log")
	sink, w := startSink(t, transcript.Config{"path": path, "max-size": float64(100), "old-files": float64(2)}, &Sink{})
	for i := range 10 {
		fmt.Fprintf(w, "%02d %s\n", i, strings.Repeat("y", 46)) // 50 bytes a line
		time.Sleep(5 * time.Millisecond)                        // one read a line, so rotation sees each
	}
	drain(t, sink, w)
	var all []string
	for _, name := range []string{path + ".2", path + ".1", path} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(data) > 100 {
			t.Errorf("%s has %d bytes, over max-size", name, len(data))
		}
		all = append(all, string(data))
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("more old files than old-files")
	}
	if joined := strings.Join(all, ""); !strings.HasPrefix(joined, "04 ") || !strings.HasSuffix(joined, strings.Repeat("y", 46)+"\n") || strings.Count(joined, "\n") != 6 {
		t.Fatalf("kept %q", joined)
	}
}

func TestTimestamps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log")
	fixed := time.Date(2026, 11, 24, 10, 11, 12, 345e6, time.UTC)
	sink, w := startSink(t, transcript.Config{"path": path, "timestamps": true}, &Sink{now: func() time.Time { return fixed }})
	w.WriteString("one\ntw")
	time.Sleep(20 * time.Millisecond)
	w.WriteString("o\nthree")
	st := drain(t, sink, w)
	got, _ := os.ReadFile(path)
	p := "2026-11-24T10:11:12.345Z "
	if string(got) != p+"one\n"+p+"two\n"+p+"three" {
		t.Fatalf("got %q", got)
	}
	// What was written to the file, the stamps too.
	if st.BytesWritten != uint64(len(got)) {
		t.Errorf("bytes written %d, the file has %d", st.BytesWritten, len(got))
	}
}

// A full disk: writes fail, the sink holds the bytes and retries, and once
// the destination works again every byte arrives, in order.
func TestFullDiskLosesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log")
	if err := os.Symlink("/dev/full", path); err != nil {
		t.Fatal(err)
	}
	sink, w := startSink(t, transcript.Config{"path": path}, &Sink{})
	w.WriteString("held back\n")
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := sink.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(st.Error, "no space left") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed the write error: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	os.Remove(path) // the "disk" has room again: a real file
	if err := sink.Reopen(ctx); err != nil {
		t.Fatal(err)
	}
	w.WriteString("after\n")
	st := drain(t, sink, w)
	if got, _ := os.ReadFile(path); string(got) != "held back\nafter\n" {
		t.Fatalf("got %q", got)
	}
	if st.Error != "" {
		t.Fatalf("error still reported: %+v", st)
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg   transcript.Config
		field string
	}{
		{transcript.Config{}, "path"},
		{transcript.Config{"path": "x", "max-size": float64(-1)}, "max-size"},
		{transcript.Config{"path": "x", "max-size": 1.5}, "max-size"},
		{transcript.Config{"path": "x", "old-files": float64(0)}, "old-files"},
		{transcript.Config{"path": "x", "max-size": float64(1 << 20), "old-files": float64(3), "timestamps": true}, ""},
	} {
		errs := Validate(tt.cfg)
		switch {
		case tt.field == "" && len(errs) != 0:
			t.Errorf("%v: %v", tt.cfg, errs)
		case tt.field != "" && (len(errs) != 1 || errs[0].Field != tt.field):
			t.Errorf("%v: %v, want an error on %s", tt.cfg, errs, tt.field)
		}
	}
	sch := Schema()
	if len(sch.Attributes) != 4 || sch.Attributes[0].Name != "path" || !sch.Attributes[0].Required {
		t.Fatalf("schema %+v", sch)
	}
}

// syncBuffer is a log destination safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A sink whose file another process (a leftover sink of a killed manager)
// still writes waits for it: it writes nothing until the lock is free,
// then everything, after what the other one wrote.
func TestWaitsForTheFilesLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	old, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := lockFile(old, true); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	sink, w := startSink(t, transcript.Config{"path": path}, &Sink{Logger: hclog.New(&hclog.LoggerOptions{Output: &logs})})
	w.WriteString("new\n")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "holds the transcript file's lock; waiting for it") {
		if time.Now().After(deadline) {
			t.Fatalf("the sink does not wait for the lock; log %q", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	old.WriteString("old\n")
	old.Close() // the other sink exits
	drain(t, sink, w)
	if got, _ := os.ReadFile(path); string(got) != "old\nnew\n" {
		t.Fatalf("file %q, want %q", got, "old\nnew\n")
	}
}
