// Command transcript-syslog is a zdaemon transcript sink that sends every
// line of the program's output to syslog. It is written the way any third
// party writes a sink: its own main, the public contract package
// github.com/zdaemon/zdaemon/plugins/transcript, nothing else of zdaemon.
//
// Build it, then name it in a job file:
//
//	transcript "syslog" {
//	  plugin   = "/usr/local/libexec/transcript-syslog"
//	  address  = "/dev/log"   # a unix datagram socket, or "udp:host:514"
//	  tag      = "myapp"
//	  facility = "local0"
//	}
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/zdaemon/zdaemon/plugins/transcript"
)

var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// sink sends lines to syslog at severity "info".
type sink struct {
	logger hclog.Logger

	mu       sync.Mutex
	address  string
	tag      string
	priority int
	conn     net.Conn
	sent     uint64 // bytes of the messages syslog took (Status)
	lastErr  error
	done     chan struct{}
}

func (s *sink) Schema(context.Context) (transcript.Schema, error) {
	return transcript.Schema{Attributes: []transcript.Attribute{
		{Name: "address", Type: transcript.TypeString, Description: `a unix datagram socket path (default "/dev/log") or "udp:host:port"`},
		{Name: "tag", Type: transcript.TypeString, Description: `the syslog tag (default "zdaemon")`},
		{Name: "facility", Type: transcript.TypeString, Description: `syslog facility (default "user")`},
	}}, nil
}

func (s *sink) Validate(_ context.Context, cfg transcript.Config) []transcript.FieldError {
	var errs []transcript.FieldError
	if _, ok := facilities[cfg.String("facility", "user")]; !ok {
		errs = append(errs, transcript.FieldError{Field: "facility", Message: "must be kern, user, mail, daemon, auth, syslog, lpr, news or local0 to local7"})
	}
	if strings.ContainsAny(cfg.String("tag", "zdaemon"), " \n") {
		errs = append(errs, transcript.FieldError{Field: "tag", Message: "must not contain spaces"})
	}
	return errs
}

func dial(address string) (net.Conn, error) {
	if rest, ok := strings.CutPrefix(address, "udp:"); ok {
		return net.Dial("udp", rest)
	}
	return net.Dial("unixgram", address)
}

func (s *sink) Start(_ context.Context, cfg transcript.Config, in io.Reader) error {
	if errs := s.Validate(context.Background(), cfg); len(errs) > 0 {
		return errs[0]
	}
	s.address = cfg.String("address", "/dev/log")
	s.tag = cfg.String("tag", "zdaemon")
	s.priority = facilities[cfg.String("facility", "user")]*8 + 6
	conn, err := dial(s.address)
	if err != nil {
		return fmt.Errorf("connect to syslog at %s: %w", s.address, err)
	}
	s.conn = conn
	s.done = make(chan struct{})
	go s.copy(in)
	return nil
}

func (s *sink) copy(in io.Reader) {
	defer close(s.done)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 64*1024)
	for sc.Scan() {
		msg := fmt.Sprintf("<%d>%s: %s", s.priority, s.tag, sc.Text())
		s.mu.Lock()
		_, err := s.conn.Write([]byte(msg))
		if err != nil {
			// Syslog may be restarting: dial again once, then count the loss.
			if c, derr := dial(s.address); derr == nil {
				s.conn.Close()
				s.conn = c
				_, err = c.Write([]byte(msg))
			}
		}
		if err != nil {
			s.lastErr = err
			s.logger.Error("syslog write failed", "error", err)
		} else {
			s.sent += uint64(len(msg))
			s.lastErr = nil
		}
		s.mu.Unlock()
	}
}

func (s *sink) Reopen(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := dial(s.address)
	if err != nil {
		return err
	}
	s.conn.Close()
	s.conn = c
	return nil
}

func (s *sink) Status(context.Context) (transcript.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := transcript.Status{BytesWritten: s.sent, Destination: s.address}
	if s.lastErr != nil {
		st.Error = s.lastErr.Error()
	}
	return st, nil
}

func (s *sink) Drain(ctx context.Context) (transcript.Status, error) {
	if s.done == nil {
		return transcript.Status{}, errors.New("not started")
	}
	select {
	case <-s.done:
	case <-ctx.Done():
	}
	return s.Status(ctx)
}

func main() {
	logger := hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true})
	transcript.Serve(&sink{logger: logger}, logger)
}
