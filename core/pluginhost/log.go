package pluginhost

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/zdaemon/zdaemon/plugins/schema"
)

// hclogger returns the hclog.Logger go-plugin needs, forwarding every
// line into logger, so the operator sees one log stream.
func hclogger(logger *slog.Logger, name string) hclog.Logger {
	l := hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: name, Output: io.Discard, Level: hclog.Trace})
	l.RegisterSink(&slogSink{logger: logger})
	return l
}

// slogSink adapts hclog records to slog.
type slogSink struct{ logger *slog.Logger }

func (s *slogSink) Accept(name string, level hclog.Level, msg string, args ...any) {
	lvl := slog.LevelInfo
	switch level {
	case hclog.Trace:
		lvl = slog.LevelDebug - 4
	case hclog.Debug:
		lvl = slog.LevelDebug
	case hclog.Warn:
		lvl = slog.LevelWarn
	case hclog.Error:
		lvl = slog.LevelError
	}
	if !s.logger.Enabled(context.Background(), lvl) {
		return
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(": ")
	b.WriteString(msg)
	for i := 0; i+1 < len(args); i += 2 {
		v := args[i+1]
		if err, ok := v.(error); ok {
			// go-plugin logs gRPC statuses ("rpc error: code = ..."):
			// the event log gets them in plain words.
			v = schema.FromRPC(err)
		}
		fmt.Fprintf(&b, " %v=%v", args[i], v)
	}
	s.logger.Log(context.Background(), lvl, b.String())
}
