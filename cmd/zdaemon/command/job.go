package command

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/zdaemon/zdaemon/core/jobfile"
	"github.com/zdaemon/zdaemon/core/zconfig"
)

// loadJob reads a job file: an HCL job file, or a legacy ZConfig file
// (told apart by content) translated to HCL first. The file map covers
// every file read, so that diagnostics show their source lines.
func loadJob(path string) (*jobfile.Job, map[string]*hcl.File, hcl.Diagnostics) {
	src, err := jobfile.ReadFile(path)
	if err != nil {
		return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Failed to read job file", Detail: err.Error()}}
	}
	if !zconfig.LooksLegacy(src) {
		cfg, files, diags := jobfile.Parse(src, path)
		if cfg != nil {
			cfg.ConfigFile = absPath(path)
		}
		return cfg, files, diags
	}
	translated, origins, files, diags := translateLegacy(path, src)
	if diags.HasErrors() {
		return nil, files, diags
	}
	cfg, more, cdiags := jobfile.Parse(translated, path+" (as HCL)")
	for name, f := range more {
		files[name] = f
	}
	if cfg != nil {
		cfg.ConfigFile = absPath(path)
		// Later checks point at the .conf file, not at its translation.
		for key := range cfg.Sources {
			if r, ok := origins[key]; ok {
				cfg.Sources[key] = jobfile.FromHCL(r)
			}
		}
	}
	return cfg, files, append(diags, cdiags...)
}

// translateLegacy parses and translates a ZConfig file.
func translateLegacy(path string, src []byte) ([]byte, zconfig.Origins, map[string]*hcl.File, hcl.Diagnostics) {
	doc, diags := zconfig.Parse(src, path, nil)
	if diags.HasErrors() {
		return nil, nil, doc.Files, diags
	}
	out, origins, more := zconfig.TranslateWithOrigins(doc)
	return out, origins, doc.Files, append(diags, more...)
}

// ConvertCommand is "convert FILE": print a legacy ZConfig file as an HCL
// job file.
type ConvertCommand struct{ *Meta }

func (c *ConvertCommand) Synopsis() string { return "Print a legacy ZConfig file as an HCL job file" }
func (c *ConvertCommand) Help() string {
	return `Usage: zdaemon convert FILE

  Reads the zdaemon ZConfig file FILE (the original's -C file: <runner>,
  <environment>, <eventlog>, %define, %include) and prints the equivalent
  HCL job file on standard output, with the original's comments. Settings
  of a host application (zope.conf, zeo.conf) are listed in a comment and
  left out. zdaemon -C runs old files unchanged; convert is for migrating.

Exit status:
  0  converted (warnings name what a job file cannot express)
  1  wrong arguments
  2  the file has errors`
}

// ConvertArgs are convert's: the legacy file.
type ConvertArgs struct{ File string }

func (c *ConvertCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

// ParseArgs takes one FILE; anything else prints the help on stderr
// (exit 1).
func (c *ConvertCommand) ParseArgs(args []string) (*ConvertArgs, int) {
	file, code := c.fileArg(c.flagSet("convert", c.Help), c.Help, args)
	if file == "" {
		return nil, code
	}
	return &ConvertArgs{File: file}, 0
}

func (c *ConvertCommand) RunContext(_ context.Context, a *ConvertArgs) int {
	file := a.File
	src, err := jobfile.ReadFile(file)
	if err != nil {
		fmt.Fprintf(c.Err, "Error: %v\n", err)
		return 2
	}
	if !zconfig.LooksLegacy(src) {
		fmt.Fprintf(c.Err, "Error: %s is not a ZConfig file (it does not start with a <section> or a %%directive)\n", file)
		return 2
	}
	out, _, files, diags := translateLegacy(file, src)
	writeDiags(c.Err, files, diags)
	if diags.HasErrors() {
		return 2
	}
	fmt.Fprintf(c.Out, "# Converted by zdaemon convert from %s.\n\n", file)
	_, _ = c.Out.Write(out)
	return 0
}
