package command

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// writeDiags renders configuration diagnostics with their source lines.
// It is the only place diagnostics are rendered. files must be the map the
// parser returned, so that every message shows the offending line; each
// position is given as file:line:column, and the offending text is marked
// under the source line.
func writeDiags(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) {
	for _, d := range diags {
		var buf bytes.Buffer
		_ = hcl.NewDiagnosticTextWriter(&buf, files, 78, false).WriteDiagnostic(d)
		text := buf.String()
		if r := d.Subject; r != nil {
			old := fmt.Sprintf("  on %s line %d", r.Filename, r.Start.Line)
			text = strings.Replace(text, old, fmt.Sprintf("  on %s:%d:%d", r.Filename, r.Start.Line, r.Start.Column), 1)
			text = markSubject(text, *r)
		}
		_, _ = io.WriteString(w, text)
	}
}

// markSubject puts carets under the subject's columns on its first line.
func markSubject(text string, r hcl.Range) string {
	prefix := fmt.Sprintf("%4d: ", r.Start.Line)
	lines := strings.SplitAfter(text, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		width := 1
		if r.End.Line == r.Start.Line && r.End.Column > r.Start.Column {
			width = r.End.Column - r.Start.Column
		}
		caret := strings.Repeat(" ", len(prefix)+r.Start.Column-1) + strings.Repeat("^", width) + "\n"
		out := append(append(append([]string{}, lines[:i+1]...), caret), lines[i+1:]...)
		return strings.Join(out, "")
	}
	return text
}
