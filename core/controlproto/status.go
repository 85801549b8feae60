package controlproto

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// Status is the manager's state as the "status" command reports it.
type Status struct {
	Running      bool
	Now          time.Time
	ShouldBeUp   bool
	Delay        time.Time // next timed action; zero prints 0
	Backoff      int
	LastTime     time.Time // last spawn; zero prints 0
	Application  int       // program pid, 0 if none
	Testing      bool
	Manager      int
	BackoffLimit int
	Filename     string
	Args         []string
}

// Format renders the original's twelve key=value lines.
func (s Status) Format() string {
	head, tail := StatusParts(s)
	return string(AppendStatus(nil, head, tail, s.Now))
}

// StatusParts returns the status reply of s but for its now= line: the
// line before it and those after it. Only now changes from one request
// to the next, so a server may render once and answer many requests with
// AppendStatus (core/control's Board does). It is a function, not a
// method, so that executables that keep every exported method (those
// linking text/template) do not get a pointer-receiver copy of it.
func StatusParts(s Status) (head, tail string) {
	status := "stopped"
	if s.Running {
		status = "running"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "should_be_up=%d\n", b2i(s.ShouldBeUp))
	fmt.Fprintf(&b, "delay=%s\n", reprTime(s.Delay))
	fmt.Fprintf(&b, "backoff=%d\n", s.Backoff)
	fmt.Fprintf(&b, "lasttime=%s\n", reprTime(s.LastTime))
	fmt.Fprintf(&b, "application=%d\n", s.Application)
	fmt.Fprintf(&b, "testing=%d\n", b2i(s.Testing))
	fmt.Fprintf(&b, "manager=%d\n", s.Manager)
	fmt.Fprintf(&b, "backofflimit=%d\n", s.BackoffLimit)
	fmt.Fprintf(&b, "filename=%s\n", pyrepr.Str(s.Filename))
	fmt.Fprintf(&b, "args=%s\n", pyrepr.List(s.Args))
	return "status=" + status + "\n", b.String()
}

// AppendStatus appends the status reply of StatusParts' head and tail at now
// to dst.
func AppendStatus(dst []byte, head, tail string, now time.Time) []byte {
	dst = append(dst, head...)
	dst = append(dst, "now="...)
	dst = appendTime(dst, now)
	dst = append(dst, '\n')
	return append(dst, tail...)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// reprTime is a Unix time as Python's repr of a float, or 0 for zero.
func reprTime(t time.Time) string {
	return string(appendTime(nil, t))
}

func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, '0')
	}
	return pyrepr.AppendFloat(dst, float64(t.UnixMicro())/1e6)
}

// ParseStatus reads a status reply (ours or the Python original's). It
// is tolerant: unknown lines are ignored, should_be_up defaults to 1. ok is
// false when there is no application= line.
func ParseStatus(reply string) (s Status, ok bool) {
	s.ShouldBeUp = true
	for _, line := range strings.Split(reply, "\n") {
		k, v, found := strings.Cut(line, "=")
		if !found {
			continue
		}
		switch k {
		case "status":
			s.Running = v == "running"
		case "application":
			s.Application, _ = strconv.Atoi(v)
			ok = true
		case "should_be_up":
			s.ShouldBeUp = v != "0"
		case "testing":
			s.Testing = v != "0" && v != ""
		case "manager":
			s.Manager, _ = strconv.Atoi(v)
		case "backoff":
			s.Backoff, _ = strconv.Atoi(v)
		case "backofflimit":
			s.BackoffLimit, _ = strconv.Atoi(v)
		case "filename":
			if list, err := pyrepr.ParseList("[" + v + "]"); err == nil && len(list) == 1 {
				s.Filename = list[0]
			}
		case "args":
			if list, err := pyrepr.ParseList(v); err == nil {
				s.Args = list
			}
		case "now", "delay", "lasttime":
			if f, err := strconv.ParseFloat(v, 64); err == nil && f != 0 {
				t := time.UnixMicro(int64(f * 1e6))
				switch k {
				case "now":
					s.Now = t
				case "delay":
					s.Delay = t
				default:
					s.LastTime = t
				}
			}
		}
	}
	return s, ok
}
