// Package metrics exposes a job's metrics in the Prometheus/OpenMetrics
// text format, with the Prometheus client library: for the control
// socket's "metrics" command and, when the job asks for it, over HTTP at
// /metrics. Values are read when a scrape asks for them (a collector over
// the manager's snapshot), so an idle manager never wakes up for metrics.
//
// It links the Prometheus client (and protobuf, through its data model),
// so it lives in the manager executable only.
package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/zdaemon/zdaemon/core/manager"
	"github.com/zdaemon/zdaemon/core/report"
)

// Source takes a snapshot of the job; false when the manager did not
// answer.
type Source func(ctx context.Context) (manager.Snapshot, bool)

// Reasons are the "reason" label values of zdaemon_program_exits_total,
// all present from the start (a counter that appears late breaks rate()).
var Reasons = []string{report.EndedExit, report.EndedSignal, report.EndedExecFailed,
	report.EndedStop, report.EndedRestart, report.EndedShutdown, report.EndedLiveness, report.EndedWatchdog}

var (
	descUp = prometheus.NewDesc("zdaemon_program_up",
		"1 when the program runs and passed its start tests, else 0.", nil, nil)
	descState = prometheus.NewDesc("zdaemon_program_state",
		"The manager's state: 1 for the current one.", []string{"state"}, nil)
	descStarts = prometheus.NewDesc("zdaemon_program_starts_total",
		"Times the program was started.", nil, nil)
	descExits = prometheus.NewDesc("zdaemon_program_exits_total",
		"Runs of the program that ended, by how.", []string{"reason"}, nil)
	descLastExit = prometheus.NewDesc("zdaemon_program_last_exit_code",
		"The last run's exit status (128+N when signal N ended it).", nil, nil)
	descUptime = prometheus.NewDesc("zdaemon_program_uptime_seconds",
		"How long the current run has lasted (0 when none runs).", nil, nil)
	descProgStart = prometheus.NewDesc("zdaemon_program_start_time_seconds",
		"When the current run started, in seconds since the epoch.", nil, nil)
	descBackoff = prometheus.NewDesc("zdaemon_backoff_delay_seconds",
		"Time left until the next start while in back-off, else 0.", nil, nil)
	descBackoffCount = prometheus.NewDesc("zdaemon_backoff_count",
		"The restart governor's count (status -l's backoff).", nil, nil)
	descMgrStart = prometheus.NewDesc("zdaemon_manager_start_time_seconds",
		"When the manager started, in seconds since the epoch.", nil, nil)
	descControl = prometheus.NewDesc("zdaemon_control_requests_total",
		"Requests read on the control socket.", nil, nil)
	checkLabels = []string{"check", "kind"}
	descCheckUp = prometheus.NewDesc("zdaemon_check_up",
		"1 when a liveness check's last try passed, 0 when it failed (absent before the first).", checkLabels, nil)
	descCheckFail = prometheus.NewDesc("zdaemon_check_failures_in_a_row",
		"A liveness check's failed tries in a row in the current run.", checkLabels, nil)
	descCheckRestarts = prometheus.NewDesc("zdaemon_check_restarts_total",
		"Program restarts a liveness check caused.", checkLabels, nil)
	descCheckSeconds = prometheus.NewDesc("zdaemon_check_duration_seconds",
		"How long a liveness check's last try took (absent before the first).", checkLabels, nil)
	descStartSeconds = prometheus.NewDesc("zdaemon_start_test_duration_seconds",
		"How long a start test last took until it passed, from its first try (absent before it passed).", checkLabels, nil)
	descStartTries = prometheus.NewDesc("zdaemon_start_test_tries",
		"How many tries a start test last needed to pass (absent before it passed).", checkLabels, nil)
	descSinkRestarts = prometheus.NewDesc("zdaemon_transcript_sink_restarts_total",
		"Times the transcript sink was started again after it ended.", nil, nil)
	descSinkBytes = prometheus.NewDesc("zdaemon_transcript_bytes_total",
		"Bytes the transcript sink wrote to its destination, across its restarts (absent when it did not report in time).", nil, nil)
	// The manager process's own, named as Prometheus's process collector
	// names them (the manager reads them itself).
	descCPU = prometheus.NewDesc("process_cpu_seconds_total",
		"The manager's user and system CPU time.", nil, nil)
	descRSS = prometheus.NewDesc("process_resident_memory_bytes",
		"The manager's resident memory.", nil, nil)
	descFDs = prometheus.NewDesc("process_open_fds",
		"The manager's open descriptors.", nil, nil)
	descMaxFDs = prometheus.NewDesc("process_max_fds",
		"The manager's descriptor limit.", nil, nil)
)

// collector reads the source at each scrape.
type collector struct{ src Source }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descState, descStarts, descExits, descLastExit,
		descUptime, descProgStart, descBackoff, descBackoffCount, descMgrStart, descSinkRestarts, descSinkBytes,
		descControl, descCheckUp, descCheckFail, descCheckRestarts, descCheckSeconds, descStartSeconds, descStartTries,
		descCPU, descRSS, descFDs, descMaxFDs} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, ok := c.src(ctx)
	if !ok {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(descUp, b2f(s.Up))
	for st := manager.Stopped; st <= manager.Exiting; st++ {
		gauge(descState, b2f(s.State == st.String()), st.String())
	}
	counter(descStarts, float64(s.Starts))
	reasons := append([]string(nil), Reasons...)
	for r := range s.Exits {
		if !contains(reasons, r) {
			reasons = append(reasons, r)
		}
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		counter(descExits, float64(s.Exits[r]), r)
	}
	if s.HasExit {
		gauge(descLastExit, float64(s.LastExitCode))
	}
	uptime, start := 0.0, 0.0
	if !s.ProgramStart.IsZero() {
		uptime = time.Since(s.ProgramStart).Seconds()
		start = float64(s.ProgramStart.UnixNano()) / 1e9
	}
	gauge(descUptime, uptime)
	gauge(descProgStart, start)
	gauge(descBackoff, s.BackoffDelay.Seconds())
	gauge(descBackoffCount, float64(s.BackoffCount))
	gauge(descMgrStart, float64(s.ManagerStart.UnixNano())/1e9)
	if s.SinkRestarts != nil {
		counter(descSinkRestarts, float64(*s.SinkRestarts))
	}
	if s.TranscriptBytes != nil {
		counter(descSinkBytes, float64(*s.TranscriptBytes))
	}
	counter(descControl, float64(s.ControlRequests))
	for _, c := range s.Checks {
		labels := []string{strconv.Itoa(c.Index + 1), c.Kind}
		if c.Tried {
			gauge(descCheckUp, b2f(c.LastOK), labels...)
			gauge(descCheckSeconds, c.LastSeconds, labels...)
		}
		gauge(descCheckFail, float64(c.FailuresInARow), labels...)
		counter(descCheckRestarts, float64(c.Restarts), labels...)
	}
	for _, st := range s.StartTests {
		labels := []string{strconv.Itoa(st.Index + 1), st.Kind}
		gauge(descStartSeconds, st.Seconds, labels...)
		gauge(descStartTries, float64(st.Tries), labels...)
	}
	counter(descCPU, s.Process.CPUSeconds)
	gauge(descRSS, float64(s.Process.ResidentBytes))
	gauge(descFDs, float64(s.Process.OpenFDs))
	gauge(descMaxFDs, float64(s.Process.MaxFDs))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Registry holds the job's collector.
func Registry(src Source) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{src})
	return reg
}

// Render is one snapshot in the text format: what "zdaemon metrics"
// prints of the snapshot a manager answered.
func Render(s manager.Snapshot) (string, error) {
	return Text(Registry(func(context.Context) (manager.Snapshot, bool) { return s, true }))
}

// Text renders every metric of reg in the text exposition format, as a
// scrape gets it (the "metrics" control command).
func Text(reg prometheus.Gatherer) (string, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return "", fmt.Errorf("gather metrics: %w", err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return "", fmt.Errorf("encode metrics: %w", err)
		}
	}
	return b.String(), nil
}

// Serve answers GET /metrics on l until ctx ends. Timeouts bound slow
// clients; an idle server holds no timer.
func Serve(ctx context.Context, l net.Listener, src Source, log *slog.Logger) error {
	reg := Registry(src)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            slogPrinter{log},
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
		EnableOpenMetrics:   true,
	}))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          nil,
	}
	stopped, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		case <-stopped: // Serve failed by itself
		}
	}()
	err := srv.Serve(l)
	close(stopped)
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// slogPrinter is promhttp's error log, into the event log.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("metrics: " + fmt.Sprint(v...)) }
