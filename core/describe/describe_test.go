package describe

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fake writes a stand-in for the manager executable: a shell script run
// as "fake describe".
func fake(t *testing.T, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "zdrun")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// A session reads one answer per request; a manager executable that dies
// or answers nonsense breaks the session with its last words.
func TestSession(t *testing.T) {
	tests := []struct {
		name      string
		script    string
		schemaErr string // "" for a schema
		unknown   bool
		broken    bool
	}{
		{"schema", `read l; echo '{"schema":{"attributes":[{"name":"path","type":"string","required":true}]}}'; read l; echo '{"errors":[{"field":"path","message":"bad"}]}'`, "", false, false},
		{"unknown", `read l; echo '{"unknown":true}'`, ErrUnknown.Error(), true, false},
		{"plugin failed", `read l; echo '{"error":"the plugin did not start"}'`, "the plugin did not start", false, false},
		{"dies", `read l; echo 'Error: boom' >&2; exit 1`, "could not describe the plugins: Error: boom", false, true},
		{"nonsense", `read l; echo 'garbage'`, "could not describe the plugins", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(fake(t, tt.script))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			sch, err := s.Schema("transcript", "file", "")
			switch {
			case tt.schemaErr == "" && err != nil:
				t.Fatalf("schema: %v", err)
			case tt.schemaErr != "" && (err == nil || !strings.Contains(err.Error(), tt.schemaErr)):
				t.Fatalf("schema error %v, want %q", err, tt.schemaErr)
			}
			if errors.Is(err, ErrUnknown) != tt.unknown || s.Broken() != tt.broken {
				t.Errorf("unknown %v broken %v, want %v %v", errors.Is(err, ErrUnknown), s.Broken(), tt.unknown, tt.broken)
			}
			if err != nil {
				return
			}
			if len(sch.Attributes) != 1 || sch.Attributes[0] != (Attribute{Name: "path", Type: TypeString, Required: true}) {
				t.Errorf("schema %+v", sch)
			}
			errs, err := s.Validate(Settings{"path": ""})
			if err != nil || len(errs) != 1 || errs[0] != (FieldError{Field: "path", Message: "bad"}) {
				t.Errorf("validate: %v %+v", err, errs)
			}
		})
	}
	if _, err := Open("/nonexistent/zdrun"); err == nil {
		t.Error("a missing manager executable opened")
	}
}
