// Package healthcheck is the contract of start-test probes: the plugins
// that tell zdaemon when a freshly started program is really up (a port
// accepts connections, a URL answers, the program says so itself, a
// command exits 0). Plugin authors import this package and nothing else of
// zdaemon.
//
// The manager calls Check once at once after every spawn, then at the
// configured interval, each try bounded by the try timeout, until one
// passes; start and restart return then. A plugin that crashes or hangs
// counts as a failed try.
//
// Protocol versions:
//
//	1  Schema, Validate, Configure, Check (one Checker service).
//	2  The base service (plugins/schema: Schema, Validate) beside the
//	   Checker service, which keeps its Schema and Validate for hosts of
//	   version 1.
//
// Serve serves both versions and go-plugin picks the newest both sides
// speak, so a plugin built against either version works with a host of
// either version.
//
// A plugin is a program whose main calls Serve:
//
//	func main() { healthcheck.Serve(&myCheck{}, nil) }
//
// The generated code in proto/ is committed; regenerate it with go generate.
package healthcheck

//go:generate protoc -I ../.. --go_out=../.. --go_opt=paths=source_relative --go-grpc_out=../.. --go-grpc_opt=paths=source_relative plugins/healthcheck/proto/healthcheck.proto
