//go:build go1.27

package zconfig

import "github.com/apparentlymart/go-textseg/v17/textseg"

// scanGraphemeClusters is the Unicode version hcl uses from Go 1.27 on
// (hcl/v2/internal/unicodeutil).
var scanGraphemeClusters = textseg.ScanGraphemeClusters
