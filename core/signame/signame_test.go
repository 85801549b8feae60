package signame

import (
	"syscall"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		arg  string
		want syscall.Signal
		err  string
	}{
		{"ded", 0, "invalid signal 'ded'"},
		{"CONT", 18, ""},
		{"9", 9, ""},
		{"-9", 9, ""},
		{"kill", 9, ""},
		{"SigKill", 9, ""},
		{"hup", 1, ""},
		{"HUP", 1, ""},
		{"sighup", 1, ""},
		{"cld", 17, ""},
		{"iot", 6, ""},
		{"poll", 29, ""},
		{"rtmin", 34, ""},
		{"Signals.SIGTERM", 15, ""},
		{" 9", 9, ""},
		{"+9", 9, ""},
		{"09", 9, ""},
		{"1_5", 15, ""},
		{"0", 0, "invalid signal '0'"},
		{"32", 0, "invalid signal '32'"},
		{"33", 0, "invalid signal '33'"},
		{"64", 64, ""},
		{"65", 0, "invalid signal '65'"},
		{"SIG_DFL", 0, "invalid signal 'SIG_DFL'"},
		{"SIGTERM extra", 0, "invalid signal 'SIGTERM extra'"},
		{"it's", 0, `invalid signal "it's"`},
		{"-h", 0, "invalid signal '-h'"},
		{"", 0, "invalid signal ''"},
		{"99999999999999999999999", 0, "invalid signal '99999999999999999999999'"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.arg)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Parse(%q) error %v, want %q", tt.arg, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tt.arg, got, err, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	for _, tt := range []struct {
		sig             syscall.Signal
		client, manager string
	}{
		{6, "SIGABRT", "SIGABRT"},
		{17, "SIGCHLD", "SIGCHLD"},
		{29, "SIGIO", "SIGPOLL"},
		{34, "SIGRTMIN", "SIGRTMIN"},
		{64, "SIGRTMAX", "SIGRTMAX"},
		{15, "SIGTERM", "SIGTERM"},
		{40, "signal 40", "signal 40"},
	} {
		if got := ClientName(tt.sig); got != tt.client {
			t.Errorf("ClientName(%d) = %q, want %q", tt.sig, got, tt.client)
		}
		if got := ManagerName(tt.sig); got != tt.manager {
			t.Errorf("ManagerName(%d) = %q, want %q", tt.sig, got, tt.manager)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"9", "-9", "hup", "Signals.SIGTERM", "1_5", "_", "+", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := Parse(s)
		if err == nil && (sig <= 0 || sig >= nsig) {
			t.Fatalf("Parse(%q) = %d", s, sig)
		}
	})
}
