//go:build !go1.27

package zconfig

import "github.com/apparentlymart/go-textseg/v15/textseg"

// scanGraphemeClusters is the Unicode version hcl uses before Go 1.27
// (hcl/v2/internal/unicodeutil).
var scanGraphemeClusters = textseg.ScanGraphemeClusters
