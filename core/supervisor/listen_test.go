package supervisor

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/listen"
	"github.com/zdaemon/zdaemon/core/manager"
)

// holdListen's start-up errors name the listen block they are about, so
// that the client shows them at its file:line:column.
func TestHoldListenErrors(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "zdrun")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String()
	free.Close()
	cfgWith := func(addrs ...string) *config.Config {
		cfg := config.Default()
		for i, a := range addrs {
			cfg.Listen = append(cfg.Listen, listen.Spec{Name: string(rune('a' + i)), Address: a})
		}
		return cfg
	}
	// No trampoline beside the manager.
	_, lerr := holdListen(cfgWith(freeAddr), exe, nil, nil)
	if lerr == nil || lerr.source != "listen/0" || !strings.Contains(lerr.msg, "cannot find the exec trampoline zdexec next to "+exe) {
		t.Fatalf("without zdexec: %+v", lerr)
	}
	if err := os.WriteFile(filepath.Join(dir, Trampoline), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The second address is in use.
	_, lerr = holdListen(cfgWith(freeAddr, busy.Addr().String()), exe, nil, nil)
	if lerr == nil || lerr.source != "listen/1/address" || !strings.Contains(lerr.msg, "the address is already in use") {
		t.Fatalf("in use: %+v", lerr)
	}
	// A notify check's fd among the listen sockets' descriptors.
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	_, lerr = holdListen(cfgWith(freeAddr), exe, []*os.File{w}, nil)
	if lerr == nil || lerr.source != "listen/0" || !strings.Contains(lerr.msg, "descriptor 3 is both") {
		t.Fatalf("fd collision: %+v", lerr)
	}
	// Held: descriptors 3... are the sockets, then the others; the
	// environment names them and drops the manager's own.
	h, lerr := holdListen(cfgWith(freeAddr), exe, []*os.File{nil, w}, nil)
	if lerr != nil {
		t.Fatal(lerr.msg)
	}
	defer h.close()
	files := h.files([]*os.File{nil, w})
	if len(files) != 2 || files[0] != h.set.Files()[0] || files[1] != w {
		t.Errorf("files %v", files)
	}
	env := strings.Join(h.env([]string{"A=1", "LISTEN_FDS=9", "LISTEN_PID=1", "LISTEN_FDNAMES=x"}), " ")
	if env != "A=1 LISTEN_FDS=1 LISTEN_FDNAMES=a" {
		t.Errorf("env %q", env)
	}
	if h.trampoline != filepath.Join(dir, Trampoline) {
		t.Errorf("trampoline %q", h.trampoline)
	}
}

func TestReloadDone(t *testing.T) {
	for _, tt := range []struct {
		reports []string
		done    bool
	}{
		{[]string{"RELOADING=1\nMONOTONIC_USEC=1", "READY=1"}, true},
		{[]string{"RELOADING=1\nREADY=1\n"}, true},
		{[]string{"READY=1"}, false}, // without RELOADING=1 first
		{[]string{"READY=1", "RELOADING=1"}, false},
		{[]string{"STATUS=reloading", "RELOADING=1", "STATUS=x"}, false},
	} {
		reloading, done := false, false
		for _, r := range tt.reports {
			done = done || manager.ReloadDone(r, &reloading)
		}
		if done != tt.done {
			t.Errorf("%q: done %v, want %v", tt.reports, done, tt.done)
		}
	}
}
