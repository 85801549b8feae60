package daemon

import "runtime/debug"

// Version is this executable's version: set, if at all, with
// -ldflags "-X github.com/zdaemon/zdaemon/core/daemon.Version=1.2.3";
// otherwise BuildVersion finds one in the build information.
var Version string

// BuildVersion is Version, else the module version the executable was
// built as (go install module@v1.2.3), else the revision of the checkout
// it was built from (with "+dirty" when it had changes), else "devel".
func BuildVersion() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}
