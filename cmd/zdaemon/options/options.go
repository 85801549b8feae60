// Package options parses zdaemon's global command-line options with the
// original's POSIX getopt rules: options end at the first word that is not
// one (the action), short options cluster and take glued values, long
// options accept any unambiguous prefix, and a value option repeated with a
// different value is a conflict. It only parses: values are checked by the
// configuration they set.
package options

import (
	"fmt"
	"strings"

	"github.com/zdaemon/zdaemon/core/pyrepr"
)

// Setting is one runner setting given on the command line.
type Setting struct {
	Opt   string // the option as spelled: "-b" or "--backoff-limit"
	Short string // its short form, for conflict messages
	Key   string // the runner key it sets: "backoff-limit"
	Value string // the raw value ("on" for -d and -f)
}

// Override is one -X path=value.
type Override struct{ Path, Value string }

// Options are the parsed global options.
type Options struct {
	Help, Version, Interactive bool
	ConfigFile                 string
	Schema                     string
	Overrides                  []Override
	// Settings in command-line order, repeats with the same value merged.
	Settings []Setting
	// Args are the action word and everything after it, untouched.
	Args []string
}

// spec describes one option.
type spec struct {
	short, long string
	value       bool
	key         string // runner key, "" for the special ones
}

var specs = []spec{
	{"-h", "--help", false, ""},
	{"", "--version", false, ""},
	{"-C", "--configure", true, ""},
	{"-X", "", true, ""},
	{"-S", "--schema", true, ""},
	{"-i", "--interactive", false, ""},
	{"-p", "--program", true, "program"},
	{"-b", "--backoff-limit", true, "backoff-limit"},
	{"-d", "--daemon", false, "daemon"},
	{"-f", "--forever", false, "forever"},
	{"-s", "--socket-name", true, "socket-name"},
	{"-x", "--exit-codes", true, "exit-codes"},
	{"-u", "--user", true, "user"},
	{"-m", "--umask", true, "umask"},
	{"-z", "--directory", true, "directory"},
	{"-t", "--transcript", true, "transcript"},
	{"-l", "--logfile", true, "logfile"},
	{"-T", "--start-timeout", true, "start-timeout"},
}

// Usage is the -h text: the original's, plus the -i line.
const Usage = `zdctl -- control an application run by zdaemon.

Usage: python zdctl.py [-C URL] [-S schema.xml] [-h] [-p PROGRAM]
       [zdrun-options] [action [arguments]]

Options:
-b/--backoff-limit SECONDS -- set backoff limit to SECONDS (default 10)
-C/--configure URL -- configuration file or URL
-d/--daemon -- run as a proper daemon; fork a subprocess, close files etc.
-f/--forever -- run forever (by default, exit when backoff limit is exceeded)
-h/--help -- print this usage message and exit
-i/--interactive -- start an interactive shell after executing commands
-t/--transcript FILE -- log file where to redirect stdout and stderr
-l/--logfile -- log file to be read by logtail command
-p/--program PROGRAM -- the program to run
-S/--schema XML Schema -- XML schema for configuration file
-T/--start-timeout SECONDS -- Start timeout when a test program is used
-s/--socket-name SOCKET -- Unix socket name for client (default "zdsock")
-u/--user USER -- run as this user (or numeric uid)
-m/--umask UMASK -- use this umask for daemon subprocess (default is 022)
-x/--exit-codes LIST -- list of fatal exit codes (default "0,2")
--version -- print zdaemon version and exit
-z/--directory DIRECTORY -- directory to chdir to when using -d (default off)
action [arguments] -- see below

Actions are commands like "start", "stop" and "status".  Use the
action "help" to find out about available actions.
`

// Parse parses the global options. An error's text is the original's
// message (printed after "Error: ").
func Parse(args []string) (*Options, error) {
	o := &Options{}
	seen := map[string]string{} // option identity -> value
	i := 0
	for i < len(args) {
		arg := args[i]
		if arg == "--" {
			i++
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			break
		}
		i++
		if strings.HasPrefix(arg, "--") {
			name, value, hasValue := strings.Cut(arg[2:], "=")
			s, err := findLong(name)
			if err != nil {
				return nil, err
			}
			switch {
			case s.value && !hasValue:
				if i >= len(args) {
					return nil, fmt.Errorf("option %s requires argument", s.long)
				}
				value = args[i]
				i++
			case !s.value && hasValue:
				return nil, fmt.Errorf("option %s must not have an argument", s.long)
			}
			if err := o.apply(s, s.long, value, seen); err != nil {
				return nil, err
			}
			continue
		}
		// A cluster of short options.
		for j := 1; j < len(arg); j++ {
			s, ok := findShort(arg[j])
			if !ok {
				return nil, fmt.Errorf("option -%c not recognized", arg[j])
			}
			value := ""
			if s.value {
				value = arg[j+1:]
				if value == "" {
					if i >= len(args) {
						return nil, fmt.Errorf("option %s requires argument", s.short)
					}
					value = args[i]
					i++
				}
				j = len(arg)
			}
			if err := o.apply(s, s.short, value, seen); err != nil {
				return nil, err
			}
		}
	}
	o.Args = args[i:]
	return o, nil
}

func findShort(c byte) (spec, bool) {
	for _, s := range specs {
		if s.short == "-"+string(c) {
			return s, true
		}
	}
	return spec{}, false
}

// findLong resolves a long option name or an unambiguous prefix of one.
func findLong(name string) (spec, error) {
	var matches []spec
	for _, s := range specs {
		if s.long == "" {
			continue
		}
		if s.long == "--"+name {
			return s, nil
		}
		if strings.HasPrefix(s.long, "--"+name) {
			matches = append(matches, s)
		}
	}
	switch len(matches) {
	case 0:
		return spec{}, fmt.Errorf("option --%s not recognized", name)
	case 1:
		return matches[0], nil
	default:
		return spec{}, fmt.Errorf("option --%s not a unique prefix", name)
	}
}

// apply records one option occurrence.
func (o *Options) apply(s spec, spelled, value string, seen map[string]string) error {
	id := s.short
	if id == "" {
		id = s.long
	}
	if o.Help || o.Version {
		// As the original, -h and --version act when reached: what
		// follows them is checked by getopt only.
		return nil
	}
	switch id {
	case "-h":
		o.Help = true
		return nil
	case "--version":
		o.Version = true
		return nil
	case "-i":
		o.Interactive = true
		return nil
	case "-X":
		path, v, ok := strings.Cut(value, "=")
		if !ok {
			return fmt.Errorf("invalid -X value %s: expected path=value", pyrepr.Str(value))
		}
		o.Overrides = append(o.Overrides, Override{Path: path, Value: v})
		return nil
	}
	if !s.value {
		value = "on"
	}
	if prev, ok := seen[id]; ok {
		if prev != value {
			return fmt.Errorf("conflicting command line option %s", pyrepr.Str(id))
		}
		return nil
	}
	seen[id] = value
	switch id {
	case "-C":
		o.ConfigFile = value
	case "-S":
		o.Schema = value
	default:
		o.Settings = append(o.Settings, Setting{Opt: spelled, Short: id, Key: s.key, Value: value})
	}
	return nil
}
