// Command badplugin is a misbehaving plugin for the reliability tests. Its
// first argument picks the misbehaviour:
//
//	exit          exit at once, before the handshake
//	version       a transcript sink speaking protocol version 99
//	flood         a working file sink that floods stderr
//	hang          a working file sink whose Reopen never returns (it logs
//	              that the call arrived)
//	status-hang   a working file sink whose Status never returns
//	check-panic   a health check that crashes in every Check
//	v1            a working file sink built against protocol version 1
//	              (before the base service): it serves that version only
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/zdaemon/zdaemon/plugins/healthcheck"
	"github.com/zdaemon/zdaemon/plugins/transcript"
	"github.com/zdaemon/zdaemon/plugins/transcript/logfile"
)

type hangingSink struct{ *logfile.Sink }

// Reopen says in the event log that the call arrived (reopenHangs), so
// that a test knows it hangs now, then never returns.
func (s hangingSink) Reopen(ctx context.Context) error {
	s.Logger.Info(reopenHangs)
	select {}
}

// reopenHangs is what hangingSink logs (cmd/zdaemon's tests look for it).
const reopenHangs = "reopen called: never answering"

type mutedSink struct{ *logfile.Sink }

func (mutedSink) Status(ctx context.Context) (transcript.Status, error) { select {} }

type panickyCheck struct{}

func (panickyCheck) Schema(context.Context) (healthcheck.Schema, error) {
	return healthcheck.Schema{}, nil
}
func (panickyCheck) Validate(context.Context, healthcheck.Config) []healthcheck.FieldError {
	return nil
}
func (panickyCheck) Configure(context.Context, healthcheck.Config) error { return nil }
func (panickyCheck) Check(context.Context, healthcheck.Request) (healthcheck.Result, error) {
	panic("check exploded")
}

func main() {
	mode := ""
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	logger := hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true})
	switch mode {
	case "exit":
		fmt.Fprintln(os.Stderr, "badplugin: giving up at once")
		os.Exit(3)
	case "version":
		hs := transcript.Handshake
		hs.ProtocolVersion = 99
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  hs,
			VersionedPlugins: map[int]plugin.PluginSet{99: transcript.PluginSets(&logfile.Sink{})[1]},
			GRPCServer:       plugin.DefaultGRPCServer,
			Logger:           logger,
		})
	case "flood":
		go func() {
			for i := 0; ; i++ {
				fmt.Fprintf(os.Stderr, "flood line %d %s\n", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
				if i%1000 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
		transcript.Serve(&logfile.Sink{Logger: logger}, logger)
	case "hang":
		transcript.Serve(hangingSink{&logfile.Sink{Logger: logger}}, logger)
	case "status-hang":
		transcript.Serve(mutedSink{&logfile.Sink{Logger: logger}}, logger)
	case "check-panic":
		healthcheck.Serve(panickyCheck{}, logger)
	case "v1":
		hs := transcript.Handshake
		hs.ProtocolVersion = 1
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  hs,
			VersionedPlugins: map[int]plugin.PluginSet{1: {transcript.PluginName: &transcript.Plugin{Impl: &logfile.Sink{Logger: logger}, Version: 1}}},
			GRPCServer:       plugin.DefaultGRPCServer,
			Logger:           logger,
		})
	default:
		fmt.Fprintln(os.Stderr, "badplugin: unknown mode", mode)
		os.Exit(2)
	}
}
