package jobfile

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/zdaemon/zdaemon/core/config"
	"github.com/zdaemon/zdaemon/core/pyrepr"
	"github.com/zdaemon/zdaemon/core/signame"
)

// setting is one runner key: how to set it from its string form (command
// line, -X, a string in a job file) and from an HCL value.
type setting struct {
	key    string
	expect string // what a job file must give, for diagnostics
	// str sets the key from a string; its error text is the original's.
	str func(c *config.Config, s string) error
	// val sets the key from a non-string HCL value; nil means strings only.
	val func(c *config.Config, v cty.Value) error
}

// settings are the runner keys, in the original's order.
var settings = []setting{
	{key: "program", expect: "a string (split on whitespace) or a list of strings",
		str: func(c *config.Config, s string) error { c.Program = strings.Fields(s); return nil },
		val: func(c *config.Config, v cty.Value) error {
			list, err := stringList(v)
			c.Program = list
			return err
		}},
	{key: "socket-name", expect: "a path", str: func(c *config.Config, s string) error { c.SocketName = s; return nil }},
	{key: "daemon", expect: "true or false", str: boolSetter(func(c *config.Config) *bool { return &c.Daemon }), val: boolValue(func(c *config.Config) *bool { return &c.Daemon })},
	{key: "directory", expect: "a path", str: func(c *config.Config, s string) error { c.Directory = s; return nil }},
	{key: "backoff-limit", expect: "a whole number of seconds, at least 1",
		str: func(c *config.Config, s string) error {
			n, err := pyrepr.Int(s, 10)
			if err != nil {
				return err
			}
			return setBackoffLimit(c, n)
		},
		val: func(c *config.Config, v cty.Value) error {
			n, err := wholeNumber(v)
			if err != nil {
				return err
			}
			return setBackoffLimit(c, n)
		}},
	{key: "forever", expect: "true or false", str: boolSetter(func(c *config.Config) *bool { return &c.Forever }), val: boolValue(func(c *config.Config) *bool { return &c.Forever })},
	{key: "exit-codes", expect: `a list of exit statuses (-1 to 255), or a string such as "0,2"`,
		str: func(c *config.Config, s string) error {
			codes, err := parseExitCodes(s)
			if err == nil {
				c.ExitCodes = codes
			}
			return err
		},
		val: func(c *config.Config, v cty.Value) error {
			if !v.Type().IsListType() && !v.Type().IsTupleType() {
				return errors.New("not a list")
			}
			codes := []int{}
			for it := v.ElementIterator(); it.Next(); {
				_, ev := it.Element()
				n, err := wholeNumber(ev)
				if err != nil {
					return err
				}
				if n < -1 || n > 255 {
					return fmt.Errorf("exit status %d is out of range", n)
				}
				codes = append(codes, n)
			}
			c.ExitCodes = codes
			return nil
		}},
	{key: "start-timeout", expect: `a number of seconds or a duration such as "5m"`,
		str: durationSetter(func(c *config.Config) *time.Duration { return &c.StartTimeout }),
		val: durationValue(func(c *config.Config) *time.Duration { return &c.StartTimeout })},
	{key: "stop-timeout", expect: `a number of seconds or a duration such as "30s"`,
		str: durationSetter(func(c *config.Config) *time.Duration { return &c.StopTimeout }),
		val: durationValue(func(c *config.Config) *time.Duration { return &c.StopTimeout })},
	{key: "user", expect: "a user name or a uid",
		str: func(c *config.Config, s string) error { c.User = s; return nil },
		val: func(c *config.Config, v cty.Value) error {
			n, err := wholeNumber(v)
			if err != nil {
				return err
			}
			c.User = strconv.Itoa(n)
			return nil
		}},
	{key: "umask", expect: `an octal string such as "022" (HCL numbers are decimal, so quote it)`,
		str: func(c *config.Config, s string) error {
			n, err := pyrepr.Int(strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0o"), "0O"), 8)
			if err != nil {
				return fmt.Errorf("invalid literal for int() with base 8: %s", pyrepr.Str(s))
			}
			if n < 0 || n > 0o777 {
				return fmt.Errorf("umask %s is out of range (000 to 777)", s)
			}
			c.Umask = n
			return nil
		}},
	{key: "default-to-interactive", expect: "true or false",
		str: boolSetter(func(c *config.Config) *bool { return &c.DefaultToInteractive }), val: boolValue(func(c *config.Config) *bool { return &c.DefaultToInteractive })},
	{key: "logfile", expect: "a path", str: func(c *config.Config, s string) error { c.Logfile = s; return nil }},
	{key: "transcript", expect: "a path", str: func(c *config.Config, s string) error { c.Transcript = s; return nil }},
	{key: "prompt", expect: "a string", str: func(c *config.Config, s string) error { c.Prompt = s; return nil }},
	{key: "hang-around", expect: "true or false", str: boolSetter(func(*config.Config) *bool { var b bool; return &b }), val: boolValue(func(*config.Config) *bool { var b bool; return &b })},
	{key: "python", expect: "a path", str: func(*config.Config, string) error { return nil }},
	{key: "zdrun", expect: "a path", str: func(*config.Config, string) error { return nil }},
	{key: "signal-group", expect: "true or false", str: boolSetter(func(c *config.Config) *bool { return &c.SignalGroup }), val: boolValue(func(c *config.Config) *bool { return &c.SignalGroup })},
	{key: "start-grace", expect: `a number of seconds or a duration such as "20ms"`,
		str: durationSetter(func(c *config.Config) *time.Duration { return &c.StartGrace }),
		val: durationValue(func(c *config.Config) *time.Duration { return &c.StartGrace })},
	{key: "stop-signal", expect: "a signal as kill takes it: a name (TERM, SIGQUIT) or a number",
		str: signalSetter(func(c *config.Config) *syscall.Signal { return &c.StopSignal }),
		val: signalValue(func(c *config.Config) *syscall.Signal { return &c.StopSignal })},
	{key: "reload-signal", expect: "a signal as kill takes it: a name (HUP, SIGUSR1) or a number",
		str: signalSetter(func(c *config.Config) *syscall.Signal { return &c.ReloadSignal }),
		val: signalValue(func(c *config.Config) *syscall.Signal { return &c.ReloadSignal })},
	{key: "watchdog", expect: `a duration of at least 1s such as "30s", or 0 for none`,
		str: func(c *config.Config, s string) error {
			var d time.Duration
			if err := durationSetter(func(*config.Config) *time.Duration { return &d })(c, s); err != nil {
				return err
			}
			return setWatchdog(c, d)
		},
		val: func(c *config.Config, v cty.Value) error {
			var d time.Duration
			if err := durationValue(func(*config.Config) *time.Duration { return &d })(c, v); err != nil {
				return err
			}
			return setWatchdog(c, d)
		}},
	{key: "start-test-program", expect: "a command (string, split on whitespace) or a list of words",
		str: func(c *config.Config, s string) error { return setStartTest(c, strings.Fields(s)) },
		val: func(c *config.Config, v cty.Value) error {
			words, err := stringList(v)
			if err != nil {
				return err
			}
			return setStartTest(c, words)
		}},
}

// setStartTest is the original's start-test-program: a "program" health
// check tried every second.
func setStartTest(c *config.Config, words []string) error {
	if len(words) == 0 {
		return errors.New("start-test-program must name a command")
	}
	c.StartTest = &config.CheckConfig{
		PluginConfig: config.PluginConfig{Kind: "program", Settings: map[string]any{"command": strings.Join(words, " ")}},
		Interval:     config.DefaultCheckInterval,
		Timeout:      config.DefaultCheckTimeout,
	}
	return nil
}

func lookupSetting(key string) (*setting, bool) {
	for i := range settings {
		if settings[i].key == key {
			return &settings[i], true
		}
	}
	return nil, false
}

// Set applies one runner setting from its string form, as given on the
// command line or with -X. Errors are the original's texts.
func Set(c *config.Config, key, value string) error {
	s, ok := lookupSetting(strings.ToLower(key))
	if !ok {
		return fmt.Errorf("%s is not a known key name", pyrepr.Str(key))
	}
	delete(c.Sources, runnerBlock+"/"+s.key) // no longer the file's value
	return s.str(c, value)
}

// Override applies one -X override: "runner/<key>", "environment/<NAME>"
// or "eventlog/level". Section and key names are case-insensitive, as in
// ZConfig; environment names keep their case.
func Override(c *config.Config, path, value string) error {
	parts := strings.Split(path, "/")
	for _, p := range parts {
		if p == "" {
			return fmt.Errorf("syntax error in -X path %s", pyrepr.Str(path))
		}
	}
	if len(parts) != 2 {
		return fmt.Errorf("no such setting %s", pyrepr.Str(path))
	}
	switch strings.ToLower(parts[0]) {
	case "runner":
		return Set(c, parts[1], value)
	case "environment":
		setEnv(c, parts[1], value)
		return nil
	case "eventlog":
		if strings.ToLower(parts[1]) != "level" {
			break
		}
		n, err := ParseLevel(value)
		if err != nil {
			return err
		}
		if c.EventLog == nil {
			c.EventLog = &config.EventLog{}
		}
		c.EventLog.Level = n
		return nil
	}
	return fmt.Errorf("no such setting %s", pyrepr.Str(path))
}

func setEnv(c *config.Config, name, value string) {
	for i := range c.Environment {
		if c.Environment[i].Name == name {
			c.Environment[i].Value = value
			return
		}
	}
	c.Environment = append(c.Environment, config.EnvVar{Name: name, Value: value})
}

func setBackoffLimit(c *config.Config, n int) error {
	if n < 1 {
		return fmt.Errorf("%d is less than 1", n)
	}
	c.BackoffLimit = n
	return nil
}

// levelNames are the original's level names.
var levelNames = map[string]int{
	"critical": 50, "fatal": 50, "error": 40, "warn": 30, "warning": 30, "info": 20,
	"blather": 15, "debug": 10, "trace": 5, "all": 1, "notset": 0,
}

// ParseLevel parses a log level: a name (case-insensitive) or 0..50.
func ParseLevel(s string) (int, error) {
	if n, ok := levelNames[strings.ToLower(strings.TrimSpace(s))]; ok {
		return n, nil
	}
	if n, err := pyrepr.Int(s, 10); err == nil && n >= 0 && n <= 50 {
		return n, nil
	}
	return 0, fmt.Errorf("logging level %s is not valid (use critical, error, warning, info, blather, debug, trace, all, notset or 0-50)", pyrepr.Str(s))
}

// --- value conversions --------------------------------------------------

func boolSetter(field func(*config.Config) *bool) func(*config.Config, string) error {
	return func(c *config.Config, s string) error {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "yes", "true", "on":
			*field(c) = true
		case "no", "false", "off":
			*field(c) = false
		default:
			return fmt.Errorf("not a valid boolean value: %s", pyrepr.Str(s))
		}
		return nil
	}
}

func boolValue(field func(*config.Config) *bool) func(*config.Config, cty.Value) error {
	return func(c *config.Config, v cty.Value) error {
		if v.Type() != cty.Bool {
			return errors.New("not a bool")
		}
		*field(c) = v.True()
		return nil
	}
}

func durationSetter(field func(*config.Config) *time.Duration) func(*config.Config, string) error {
	return func(c *config.Config, s string) error {
		if n, err := pyrepr.Int(s, 10); err == nil {
			if n < 0 {
				return fmt.Errorf("%d is negative", n)
			}
			*field(c) = time.Duration(n) * time.Second
			return nil
		}
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("invalid literal for int() with base 10: %s", pyrepr.Str(s))
		}
		if d < 0 {
			return fmt.Errorf("%s is negative", s)
		}
		*field(c) = d
		return nil
	}
}

func durationValue(field func(*config.Config) *time.Duration) func(*config.Config, cty.Value) error {
	return func(c *config.Config, v cty.Value) error {
		if v.Type() != cty.Number {
			return errors.New("not a number")
		}
		f, _ := v.AsBigFloat().Float64()
		if f < 0 || f > float64(1<<62)/1e9 {
			return fmt.Errorf("%v seconds is out of range", f)
		}
		*field(c) = time.Duration(f * float64(time.Second))
		return nil
	}
}

func signalSetter(field func(*config.Config) *syscall.Signal) func(*config.Config, string) error {
	return func(c *config.Config, s string) error {
		sig, err := signame.Parse(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		if sig == 0 {
			return fmt.Errorf("signal 0 is no signal")
		}
		*field(c) = sig
		return nil
	}
}

func signalValue(field func(*config.Config) *syscall.Signal) func(*config.Config, cty.Value) error {
	return func(c *config.Config, v cty.Value) error {
		n, err := wholeNumber(v)
		if err != nil {
			return err
		}
		return signalSetter(field)(c, strconv.Itoa(n))
	}
}

// wholeNumber converts a number value to an int.
func wholeNumber(v cty.Value) (int, error) {
	if v.Type() != cty.Number {
		return 0, errors.New("not a number")
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		return 0, fmt.Errorf("%s is not a whole number", bf.Text('g', -1))
	}
	i, acc := bf.Int64()
	if acc != big.Exact || i > 1<<31 || i < -(1<<31) {
		return 0, fmt.Errorf("%s is out of range", bf.Text('g', -1))
	}
	return int(i), nil
}

// stringList converts a list or tuple of strings.
func stringList(v cty.Value) ([]string, error) {
	if !v.Type().IsListType() && !v.Type().IsTupleType() {
		return nil, errors.New("not a list")
	}
	out := []string{}
	for it := v.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		sv, err := convert.Convert(ev, cty.String)
		if err != nil || sv.IsNull() {
			return nil, errors.New("every element must be a string")
		}
		out = append(out, sv.AsString())
	}
	return out, nil
}

// parseExitCodes parses "0,2" (blanks allowed; "" is the empty list).
func parseExitCodes(s string) ([]int, error) {
	codes := []int{}
	if strings.TrimSpace(s) == "" {
		return codes, nil
	}
	for _, part := range strings.Split(s, ",") {
		n, err := pyrepr.Int(part, 10)
		if err != nil {
			return nil, err
		}
		codes = append(codes, n)
	}
	return codes, nil
}

// setFromValue applies an HCL attribute value to a runner setting and
// returns diagnostics pointing at the expression.
func (s *setting) setFromValue(c *config.Config, v cty.Value, rng hcl.Range) hcl.Diagnostics {
	invalid := func(why string) hcl.Diagnostics {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + s.key,
			Detail:   fmt.Sprintf("%s must be %s; %s.", s.key, s.expect, why),
			Subject:  rng.Ptr(),
		}}
	}
	if v.IsNull() {
		return invalid("it is null")
	}
	if !v.IsWhollyKnown() {
		return invalid("its value is not known")
	}
	var err error
	switch {
	case v.Type() == cty.String:
		err = s.str(c, v.AsString())
	case s.val != nil:
		err = s.val(c, v)
	default:
		err = fmt.Errorf("got %s", v.Type().FriendlyName())
	}
	if err != nil {
		return invalid(err.Error())
	}
	return nil
}
