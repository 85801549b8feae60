// Package describe is the exchange by which the client learns what a
// plugin block may hold without linking the plugin contracts (they bring
// gRPC and protobuf): it runs the manager executable as "zdrun describe"
// and asks it, one JSON line at a time on its stdin and stdout, for the
// schema a plugin declares and for the plugin's verdict on the settings
// the client decoded against it. The manager executable answers with
// Serve.
//
// A session is a sequence of requests, each answered by one response:
//
//	{"op":"schema","kind":"transcript","label":"file","plugin":""}
//	{"schema":{"attributes":[{"name":"path","type":"string","required":true}]}}
//	{"op":"validate","settings":{"path":"/no/such/dir/out.log"}}
//	{"errors":[{"field":"path","message":"..."}]}
//
// A validate request is judged by the plugin of the last schema request,
// which keeps running (an external one in a throw-away process) until the
// next schema request or the end of the session.
package describe

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Attribute types of a schema.
const (
	TypeString = "string"
	TypeNumber = "number"
	TypeBool   = "bool"
)

// Attribute is one setting a plugin declares.
type Attribute struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Required bool   `json:"required,omitempty"`
}

// Schema is the settings a plugin declares.
type Schema struct {
	Attributes []Attribute `json:"attributes"`
}

// Settings are a block's evaluated settings: strings, float64 numbers and
// bools by attribute name.
type Settings map[string]any

// FieldError is the plugin's complaint about one setting ("" for the
// configuration as a whole).
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Request is one line from the client.
type Request struct {
	Op string `json:"op"` // "schema" or "validate"
	// Of a schema request: the plugin kind ("transcript", "healthcheck"),
	// the block's label and the plugin executable ("" for a built-in).
	Kind   string `json:"kind,omitempty"`
	Label  string `json:"label,omitempty"`
	Plugin string `json:"plugin,omitempty"`
	// Of a validate request.
	Settings Settings `json:"settings,omitempty"`
}

// Response is one line from the manager executable.
type Response struct {
	Schema *Schema `json:"schema,omitempty"`
	// Unknown says a built-in of that label does not exist.
	Unknown bool `json:"unknown,omitempty"`
	// Error says why the plugin could not describe itself, in the words
	// the user reads.
	Error  string       `json:"error,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// ErrUnknown is a schema request's answer for a built-in that does not
// exist.
var ErrUnknown = errors.New("no such built-in plugin")

// Timeout bounds a whole session: the manager executable bounds each
// plugin's description by less.
const Timeout = 30 * time.Second

// Session is a running "zdrun describe".
type Session struct {
	exe    string
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr bytes.Buffer
	timer  *time.Timer
	once   sync.Once
	broken bool
}

// Open starts the manager executable exe as "exe describe".
func Open(exe string) (*Session, error) {
	s := &Session{exe: exe, cmd: exec.Command(exe, "describe")}
	s.cmd.Stderr = &s.stderr
	in, err := s.cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("describe plugins: %w", err)
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("describe plugins: %w", err)
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("run the manager executable %s: %w", exe, err)
	}
	s.in, s.out = in, bufio.NewReader(out)
	s.timer = time.AfterFunc(Timeout, func() { _ = s.cmd.Process.Kill() })
	return s, nil
}

// Schema asks for the schema of the plugin of a kind ("transcript",
// "healthcheck") and label, or of the executable plugin; ErrUnknown says
// there is no such built-in, and any other error is in plain words.
func (s *Session) Schema(kind, label, plugin string) (Schema, error) {
	resp, err := s.call(Request{Op: "schema", Kind: kind, Label: label, Plugin: plugin})
	switch {
	case err != nil:
		return Schema{}, err
	case resp.Unknown:
		return Schema{}, ErrUnknown
	case resp.Error != "":
		return Schema{}, errors.New(resp.Error)
	case resp.Schema == nil:
		return Schema{}, fmt.Errorf("the manager executable %s answered no schema", s.exe)
	}
	return *resp.Schema, nil
}

// Validate asks the plugin of the last Schema call to judge settings.
func (s *Session) Validate(settings Settings) ([]FieldError, error) {
	resp, err := s.call(Request{Op: "validate", Settings: settings})
	if err != nil {
		return nil, err
	}
	if resp.Error != "" {
		return nil, errors.New(resp.Error)
	}
	return resp.Errors, nil
}

func (s *Session) call(req Request) (Response, error) {
	var resp Response
	if s.broken {
		return resp, s.failed()
	}
	line, err := json.Marshal(req)
	if err == nil {
		_, err = s.in.Write(append(line, '\n'))
	}
	if err == nil {
		var answer []byte
		if answer, err = s.out.ReadBytes('\n'); err == nil {
			err = json.Unmarshal(answer, &resp)
		}
	}
	if err != nil {
		return resp, s.failed()
	}
	return resp, nil
}

// failed says what became of a session that broke off.
func (s *Session) failed() error {
	s.broken = true
	s.Close()
	msg := strings.TrimSpace(s.stderr.String())
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	if msg == "" {
		msg = s.cmd.ProcessState.String()
	}
	return fmt.Errorf("the manager executable %s could not describe the plugins: %s", s.exe, msg)
}

// Broken says the session broke off: the manager executable died or
// answered nonsense, and every later call fails.
func (s *Session) Broken() bool { return s.broken }

// Close ends the session and waits for the manager executable to exit.
func (s *Session) Close() {
	s.once.Do(func() {
		s.in.Close()
		_ = s.cmd.Wait()
		s.timer.Stop()
	})
}
