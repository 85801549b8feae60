package builtin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zdaemon/zdaemon/plugins/healthcheck"
)

func check(t *testing.T, c healthcheck.Checker, cfg healthcheck.Config, req healthcheck.Request) healthcheck.Result {
	t.Helper()
	if err := c.Configure(context.Background(), cfg); err != nil {
		t.Fatalf("configure %v: %v", cfg, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := c.Check(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestProgram(t *testing.T) {
	for _, tc := range []struct {
		command string
		healthy bool
		msg     string
	}{
		{"true", true, "true: exit status 0"},
		{"false", false, "exit status 1"},
		{"/nonexistent/test", false, "no such file"},
	} {
		res := check(t, &Program{}, healthcheck.Config{"command": tc.command}, healthcheck.Request{})
		if res.Healthy != tc.healthy || !strings.Contains(res.Message, tc.msg) {
			t.Errorf("%q: %+v", tc.command, res)
		}
	}
	if errs := (&Program{}).Validate(context.Background(), healthcheck.Config{"command": "  "}); len(errs) != 1 {
		t.Errorf("empty command accepted")
	}
}

func TestDialAndHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/teapot" {
			w.WriteHeader(418)
		}
		fmt.Fprint(w, "all good")
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	ul, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	for _, tc := range []struct {
		name    string
		c       healthcheck.Checker
		cfg     healthcheck.Config
		healthy bool
	}{
		{"tcp up", &Dial{Network: "tcp"}, healthcheck.Config{"address": addr}, true},
		{"tcp down", &Dial{Network: "tcp"}, healthcheck.Config{"address": "127.0.0.1:1"}, false},
		{"unix up", &Dial{Network: "unix"}, healthcheck.Config{"path": sock}, true},
		{"unix down", &Dial{Network: "unix"}, healthcheck.Config{"path": sock + "x"}, false},
		{"http 2xx", &HTTP{}, healthcheck.Config{"url": srv.URL + "/"}, true},
		{"http body", &HTTP{}, healthcheck.Config{"url": srv.URL + "/", "body": "good"}, true},
		{"http body missing", &HTTP{}, healthcheck.Config{"url": srv.URL + "/", "body": "bad"}, false},
		{"http status", &HTTP{}, healthcheck.Config{"url": srv.URL + "/teapot", "status": float64(418)}, true},
		{"http not 2xx", &HTTP{}, healthcheck.Config{"url": srv.URL + "/teapot"}, false},
	} {
		if res := check(t, tc.c, tc.cfg, healthcheck.Request{}); res.Healthy != tc.healthy {
			t.Errorf("%s: %+v", tc.name, res)
		}
	}
}

func TestNotifySocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "n")
	n := &Notify{}
	if err := n.Configure(context.Background(), healthcheck.Config{"socket": sock}); err != nil {
		t.Fatal(err)
	}
	defer n.conn.Close()
	started := time.Now()
	go func() {
		time.Sleep(50 * time.Millisecond)
		c, err := net.Dial("unixgram", sock)
		if err != nil {
			return
		}
		c.Write([]byte("STATUS=starting\n"))
		c.Write([]byte("STATUS=up\nREADY=1\n"))
		c.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, _ := n.Check(ctx, healthcheck.Request{Started: started})
	if !res.Healthy || time.Since(started) > 2*time.Second {
		t.Fatalf("%+v after %v", res, time.Since(started))
	}
	// A READY from before this start does not count.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if res, _ := n.Check(ctx2, healthcheck.Request{Started: time.Now()}); res.Healthy {
		t.Fatal("an old READY counted for a new start")
	}
}
