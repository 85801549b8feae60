//go:build !unix

package transcript

import "github.com/hashicorp/go-hclog"

func finishOnTerm(Sink, hclog.Logger) {}
