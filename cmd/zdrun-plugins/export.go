package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/zdaemon/zdaemon/core/export/nomad"
	"github.com/zdaemon/zdaemon/core/manager"
	"github.com/zdaemon/zdaemon/core/metrics"
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

// renderMetrics reads a manager's metrics snapshot (its "metrics-json"
// reply) and prints it in the Prometheus text format.
func renderMetrics(stdin io.Reader, stdout, stderr io.Writer) int {
	var s manager.Snapshot
	if err := json.NewDecoder(io.LimitReader(stdin, 1<<20)).Decode(&s); err != nil {
		fmt.Fprintf(stderr, "Error: read the metrics snapshot: %v\n", err)
		return 1
	}
	text, err := metrics.Render(s)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, text)
	return 0
}
