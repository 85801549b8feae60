package options

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	set := func(opt, short, key, value string) Setting { return Setting{opt, short, key, value} }
	tests := []struct {
		name string
		args []string
		want *Options
		err  string
	}{
		{"program and action", []string{"-p", "sleep 100", "start"},
			&Options{Settings: []Setting{set("-p", "-p", "program", "sleep 100")}, Args: []string{"start"}}, ""},
		{"glued and clustered", []string{"-fdb5", "-Cconf", "-px", "status"},
			&Options{ConfigFile: "conf", Settings: []Setting{set("-f", "-f", "forever", "on"), set("-d", "-d", "daemon", "on"),
				set("-b", "-b", "backoff-limit", "5"), set("-p", "-p", "program", "x")}, Args: []string{"status"}}, ""},
		{"words after the action stay", []string{"-p", "x", "status", "-x", "--version"},
			&Options{Settings: []Setting{set("-p", "-p", "program", "x")}, Args: []string{"status", "-x", "--version"}}, ""},
		{"long with equals and prefix", []string{"--back=3", "--start", "4", "--c", "c", "status"},
			&Options{ConfigFile: "c", Settings: []Setting{set("--backoff-limit", "-b", "backoff-limit", "3"),
				set("--start-timeout", "-T", "start-timeout", "4")}, Args: []string{"status"}}, ""},
		{"same config three times", []string{"-Cconf", "-Cconf", "-C", "conf", "start"},
			&Options{ConfigFile: "conf", Args: []string{"start"}}, ""},
		{"help anywhere in options", []string{"-p", "x", "--h"}, &Options{Help: true, Settings: []Setting{set("-p", "-p", "program", "x")}, Args: []string{}}, ""},
		{"version", []string{"--version"}, &Options{Version: true, Args: []string{}}, ""},
		{"help stops option handling", []string{"-h", "-b5", "-b6"}, &Options{Help: true, Args: []string{}}, ""},
		{"conflict before help", []string{"-b5", "-b6", "-h"}, nil, "conflicting command line option '-b'"},
		{"getopt errors after help still count", []string{"-h", "--foo"}, nil, "option --foo not recognized"},
		{"interactive", []string{"-i", "-p", "x"}, &Options{Interactive: true, Settings: []Setting{set("-p", "-p", "program", "x")}, Args: []string{}}, ""},
		{"overrides repeat", []string{"-X", "runner/a=1", "-Xrunner/b=2=3", "show"},
			&Options{Overrides: []Override{{"runner/a", "1"}, {"runner/b", "2=3"}}, Args: []string{"show"}}, ""},
		{"double dash ends options", []string{"-p", "x", "--", "-weird"},
			&Options{Settings: []Setting{set("-p", "-p", "program", "x")}, Args: []string{"-weird"}}, ""},
		{"lone dash is the action", []string{"-"}, &Options{Args: []string{"-"}}, ""},
		{"empty action", []string{"-p", "x", ""}, &Options{Settings: []Setting{set("-p", "-p", "program", "x")}, Args: []string{""}}, ""},
		{"unknown short", []string{"-q"}, nil, "option -q not recognized"},
		{"unknown long", []string{"--foo"}, nil, "option --foo not recognized"},
		{"missing short value", []string{"-p"}, nil, "option -p requires argument"},
		{"missing long value", []string{"--program"}, nil, "option --program requires argument"},
		{"flag with value", []string{"--forever=1", "-p", "x", "status"}, nil, "option --forever must not have an argument"},
		{"ambiguous", []string{"--s", "x"}, nil, "option --s not a unique prefix"},
		{"conflict", []string{"-b", "5", "-b", "6"}, nil, "conflicting command line option '-b'"},
		{"conflict long and short", []string{"-b", "5", "--backoff-limit=6"}, nil, "conflicting command line option '-b'"},
		{"bad -X", []string{"-X", "nope"}, nil, "invalid -X value 'nope': expected path=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.args)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("-p\x00x\x00start")
	f.Add("--back=3\x00-fdb5\x00--\x00x")
	f.Fuzz(func(t *testing.T, joined string) {
		args := splitNUL(joined)
		o, err := Parse(args)
		if err != nil {
			return
		}
		if len(o.Args) > len(args) || !slices.Equal(o.Args, args[len(args)-len(o.Args):]) {
			t.Fatalf("Args %q is not a suffix of %q", o.Args, args)
		}
	})
}

func splitNUL(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
