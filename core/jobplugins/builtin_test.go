package jobplugins

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// A describe session answers each request with one line: built-in schemas,
// unknown built-ins, and the plugin's verdict on settings.
func TestDescribe(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // substrings of each answer line, in order
	}{
		{"file sink", `{"op":"schema","kind":"transcript","label":"file"}` + "\n" + `{"op":"validate","settings":{"path":""}}` + "\n",
			[]string{`{"name":"path","type":"string","required":true}`, `{"errors":[{"field":"path","message":"must name a file"}]}`}},
		{"valid settings", `{"op":"schema","kind":"transcript","label":"file"}` + "\n" + `{"op":"validate","settings":{"path":"/tmp/x.log"}}` + "\n",
			[]string{`"schema"`, `{}`}},
		{"unknown sink", `{"op":"schema","kind":"transcript","label":"nope"}` + "\n", []string{`{"unknown":true}`}},
		{"unknown kind", `{"op":"schema","kind":"other","label":"file"}` + "\n", []string{`{"unknown":true}`}},
		{"validate first", `{"op":"validate","settings":{}}` + "\n", []string{`{"error":"no plugin described"}`}},
		{"program check", `{"op":"schema","kind":"healthcheck","label":"program"}` + "\n", []string{`"schema"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Describe(strings.NewReader(tt.in), &out, "/nonexistent/zdrun"); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("answers %q, want %d lines", lines, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("answer %d = %s, want it to hold %s", i, lines[i], w)
				}
			}
		})
	}
	var out bytes.Buffer
	if err := Describe(strings.NewReader("garbage\n"), &out, ""); err == nil {
		t.Error("a garbage request was accepted")
	}
}

// FuzzDescribe: whatever a client sends, the describe session answers
// with JSON lines or ends with an error, and never panics. Requests that
// name an external plugin are skipped: they would run it.
func FuzzDescribe(f *testing.F) {
	f.Add(`{"op":"schema","kind":"transcript","label":"file"}` + "\n" + `{"op":"validate","settings":{"path":""}}` + "\n")
	f.Add(`{"op":"schema","kind":"healthcheck","label":"tcp"}` + "\n" + `{"op":"validate","settings":{"address":3}}` + "\n")
	f.Add(`{"op":"validate","settings":null}` + "\n")
	f.Add("not json\n")
	f.Fuzz(func(t *testing.T, in string) {
		// (encoding/json matches keys without case, and reads \u escapes.)
		if strings.Contains(strings.ToLower(in), "plugin") || strings.Contains(in, `\u`) {
			return
		}
		var out bytes.Buffer
		_ = Describe(strings.NewReader(in), &out, "/nonexistent/zdrun")
		for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
			if line != "" && !json.Valid([]byte(line)) {
				t.Fatalf("answer is not JSON: %q", line)
			}
		}
	})
}
