package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/zdaemon/zdaemon/core/export/nomad"
)

// exportNomad reads a nomad.Request (JSON) and prints the Nomad job, the
// warnings on stderr.
func exportNomad(stdin io.Reader, stdout, stderr io.Writer) int {
	var req nomad.Request
	dec := json.NewDecoder(io.LimitReader(stdin, 8<<20))
	if err := dec.Decode(&req); err != nil {
		fmt.Fprintf(stderr, "Error: read the export request: %v\n", err)
		return 1
	}
	job, warnings, err := nomad.Export(req)
	if err != nil {
		fmt.Fprintf(stderr, "Error: cannot export %s to Nomad: %v\n", req.File, err)
		return 1
	}
	out, err := nomad.Marshal(job)
	if err != nil {
		fmt.Fprintf(stderr, "Error: cannot export %s to Nomad: %v\n", req.File, err)
		return 1
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "Warning: %s\n", w)
	}
	_, _ = stdout.Write(out)
	return 0
}
