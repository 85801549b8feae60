package logformat_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/logformat"
)

func TestValidate(t *testing.T) {
	for _, tt := range []struct{ format, err string }{
		{config.DefaultLogFormat, ""},
		{"%(created).3f %(process)d %(levelname)-8s", ""},
		{"100%% %(message)s", ""},
		{`a\tb %(message)r`, ""},
		{"%(bogus)s", `unknown format field "bogus"`},
		{"%(message)", "needs a conversion"},
		{"%(message", "unclosed"},
		{"50% off", "must be followed"},
	} {
		err := logformat.Validate(tt.format)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("Validate(%q) = %v, want %q", tt.format, err, tt.err)
		}
	}
}

func TestParse(t *testing.T) {
	got, err := logformat.Parse(logformat.Unescape(`100%% %(levelname)-8s\t%(created).3f%(message)r`))
	if err != nil {
		t.Fatal(err)
	}
	want := []logformat.Piece{
		{Lit: "100% "}, {Field: "levelname", Spec: "-8", Conv: 's'}, {Lit: "\t"},
		{Field: "created", Spec: ".3", Conv: 'f'}, {Field: "message", Conv: 'r'},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %+v, want %+v", got, want)
	}
}
