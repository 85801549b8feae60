package pyrepr

import (
	"errors"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRepr(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"sleep", "'sleep'"},
		{"it's", `"it's"`},
		{`it's "x"`, `'it\'s "x"'`},
		{"a\\b\n\t", `'a\\b\n\t'`},
		{"\x00\x7f", `'\x00\x7f'`},
		{"\xff", `'\udcff'`},
		{"\u00a0x\u0085", `'\xa0x\x85'`},
		{"héllo", "'héllo'"},
	} {
		if got := Str(tt.in); got != tt.want {
			t.Errorf("Str(%q) = %s, want %s", tt.in, got, tt.want)
		}
		back, err := ParseList("[" + Str(tt.in) + "]")
		if err != nil || len(back) != 1 || back[0] != tt.in {
			t.Errorf("round trip of %q: %q, %v", tt.in, back, err)
		}
	}
	for _, tt := range []struct {
		f    float64
		want string
	}{{0, "0.0"}, {1795485107, "1795485107.0"}, {1.5, "1.5"}, {0.02, "0.02"}, {300, "300.0"}} {
		if got := Float(tt.f); got != tt.want {
			t.Errorf("Float(%v) = %s, want %s", tt.f, got, tt.want)
		}
	}
	if got := List([]string{"a", "b c"}); got != "['a', 'b c']" {
		t.Errorf("ReprList: %s", got)
	}
	for _, bad := range []string{"", "[", "['a'", "['a' 'b']", "[a]", `['\x4']`} {
		if _, err := ParseList(bad); err == nil {
			t.Errorf("ParseList(%q) accepted", bad)
		}
	}
	if got, _ := ParseList("['a', \"b'\", ]"); !cmp.Equal(got, []string{"a", "b'"}) {
		t.Errorf("trailing comma: %q", got)
	}
}

func FuzzParseList(f *testing.F) {
	for _, s := range []string{"['a', 'b']", `["it's", '\x00\\']`, "[]", "['\\u00e9']"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list, err := ParseList(s)
		if err != nil {
			return
		}
		back, err := ParseList(List(list))
		if err != nil || !cmp.Equal(back, list) {
			t.Fatalf("%q -> %q -> %q (%v)", s, list, back, err)
		}
	})
}

func TestInt(t *testing.T) {
	for _, tt := range []struct {
		s    string
		base int
		want int
		err  string
	}{
		{" 1_0 ", 10, 10, ""},
		{"+7", 10, 7, ""},
		{"-3", 10, -3, ""},
		{"022", 8, 18, ""},
		{"9", 8, 0, "invalid literal for int() with base 8: '9'"},
		{"1.5", 10, 0, "invalid literal for int() with base 10: '1.5'"},
		{"1__0", 10, 0, "invalid literal for int() with base 10: '1__0'"},
		{"", 10, 0, "invalid literal for int() with base 10: ''"},
	} {
		got, err := Int(tt.s, tt.base)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Int(%q) error %v, want %q", tt.s, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Int(%q) = %d, %v; want %d", tt.s, got, err, tt.want)
		}
	}
	if got := Errno(syscall.EINVAL); got != "[Errno 22] Invalid argument" {
		t.Errorf("Errno: %q", got)
	}
	_ = errors.New
}
