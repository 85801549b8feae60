package command

import (
	"io"

	"github.com/hashicorp/hcl/v2"
)

// writeDiags renders configuration diagnostics with their source lines.
// It is the only place diagnostics are rendered; files must be the map the
// parser returned, so that every message shows the offending line.
func writeDiags(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	tw := hcl.NewDiagnosticTextWriter(w, files, 78, false)
	_ = tw.WriteDiagnostics(diags)
}
