package daemon

import "testing"

func TestBuildVersion(t *testing.T) {
	if v := BuildVersion(); v == "" {
		t.Fatal("no version")
	}
	defer func(old string) { Version = old }(Version)
	Version = "1.2.3"
	if v := BuildVersion(); v != "1.2.3" {
		t.Fatalf("with -X Version: %q", v)
	}
}
