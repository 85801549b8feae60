package command

import (
	"bufio"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// shell is the interactive mode of the original's documentation: it shows
// the program and its status, then reads one action per line.
func (m *Meta) shell() int {
	m.prepared = nil // actions typed later ask afresh
	fmt.Fprintf(m.Out, "program: %s\n", strings.Join(m.Cfg.Program, " "))
	m.status(false)
	prompt := m.Cfg.Prompt
	if prompt == "" {
		prompt = strings.TrimSuffix(filepath.Base(m.Argv0), ".py") + "> "
	}
	in := bufio.NewScanner(m.Stdin)
	in.Buffer(make([]byte, 64*1024), 1024*1024)
	for {
		fmt.Fprint(m.Out, prompt)
		if !in.Scan() {
			fmt.Fprintln(m.Out)
			return 0
		}
		line := strings.TrimSpace(in.Text())
		m.stalled = nil // a manager that did not answer is asked again
		if line == "quit" {
			m.quit()
			return 0
		}
		m.onecmd(strings.Fields(line), shellActions)
	}
}

// shellActions are the shell's action words: the original's, and reload.
var shellActions = append(slices.Clip(actions), "reload")

// quit leaves the shell, stopping a manager that has nothing to run.
func (m *Meta) quit() {
	st, ok := m.probe()
	switch {
	case !ok && m.stalled != nil:
		fmt.Fprintln(m.Out, m.notResponding())
	case !ok:
		fmt.Fprintln(m.Out, "daemon manager not running")
	case st.Application == 0:
		fmt.Fprintln(m.Out, "daemon process not running; stopping daemon manager")
		_, _ = m.send("stop")
	default:
		fmt.Fprintln(m.Out, "daemon process and daemon manager still running")
	}
}
