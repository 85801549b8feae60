package main

import (
	"strings"
	"testing"
	"time"
)

// Input without an end or nested without a bound is refused with a
// diagnostic, within a bounded time and memory, never with a Go runtime
// error: /dev/zero as a job file or as a %include, an HCL list nested
// 100,000 deep, 100,000 unary operators.
func TestTrustUnboundedInput(t *testing.T) {
	j := newJob(t)
	deep := j.write("deep.hcl", "runner {\n  program = "+strings.Repeat("[", 100_000)+`"x"`+strings.Repeat("]", 100_000)+"\n}\n")
	bang := j.write("bang.hcl", "runner {\n  program = \"x\"\n  forever = "+strings.Repeat("!", 100_000)+"true\n}\n")
	include := j.write("include.conf", "<runner>\n  program sleep 1\n</runner>\n%include /dev/zero\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"validate /dev/zero", []string{"validate", "/dev/zero"}, "/dev/zero is larger than 1024 KiB"},
		{"-C /dev/zero start", []string{"-C", "/dev/zero", "start"}, "/dev/zero is larger than 1024 KiB"},
		{"include /dev/zero", []string{"validate", include}, "include target cannot be read: /dev/zero"},
		{"include /dev/zero at start", []string{"-C", include, "start"}, "include target cannot be read: /dev/zero"},
		{"nested list", []string{"validate", deep}, "Error: Too deeply nested"},
		{"nested list at start", []string{"-C", deep, "start"}, "Error: Too deeply nested"},
		{"unary operators", []string{"validate", bang}, "Error: Too deeply nested"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := j.must(2, tt.args...)
			if !strings.Contains(r.err, tt.want) {
				t.Fatalf("stderr %q, want %q", r.err, tt.want)
			}
			for _, bad := range []string{"goroutine ", "fatal error", "panic", "runtime."} {
				if strings.Contains(r.err+r.out, bad) {
					t.Fatalf("Go runtime text %q in the output: %q", bad, r.err)
				}
			}
			if r.took > 20*time.Second {
				t.Fatalf("took %v", r.took)
			}
		})
	}
}
