// Package transcript is the contract of transcript sinks: the plugins that
// move a supervised program's output (stdout, stderr and the manager's own
// messages) to its destination. Plugin authors import this package and
// nothing else of zdaemon.
//
// The output does not travel over gRPC. The manager owns a pipe; the sink
// process inherits its read end as file descriptor InputFD and copies the
// bytes itself, so a sink moves data as fast as "cat > file" would. The
// manager keeps its own read end open, so the program never gets a broken
// pipe; a sink that crashes is started again on the same pipe and loses at
// most what it had read and not yet written. Only control (schema, config,
// reopen, status, drain) goes over gRPC.
//
// Protocol versions:
//
//	1  Schema, Validate, Start, Reopen, Status, Drain (one Sink service).
//	2  The base service (plugins/schema: Schema, Validate) beside the Sink
//	   service, which keeps its Schema and Validate for hosts of version 1.
//
// Serve serves both versions and go-plugin picks the newest both sides
// speak, so a plugin built against either version works with a host of
// either version.
//
// A plugin is a program whose main calls Serve:
//
//	func main() { transcript.Serve(&mySink{}, nil) }
//
// The generated code in proto/ is committed; regenerate it with go generate.
package transcript

//go:generate protoc -I ../.. --go_out=../.. --go_opt=paths=source_relative --go-grpc_out=../.. --go-grpc_opt=paths=source_relative plugins/transcript/proto/transcript.proto
