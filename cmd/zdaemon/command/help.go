package command

import (
	"fmt"
)

// helpListing is the original's "help" output, byte for byte (the blank
// first and last lines and the two spaces after "stop" included).
const helpListing = `
Documented commands (type help <topic>):
========================================
fg          help  logreopen  reopen_transcript  show   status  wait
foreground  kill  logtail    restart            start  stop  

`

// topicHelp are the original's "help <topic>" texts.
var topicHelp = map[string]string{
	"fg": `foreground -- Run the program in the forground.
fg -- an alias for foreground.
`,
	"help": `help          -- Print a list of available actions.
help <action> -- Print help for <action>.
`,
	"kill": `kill [sig] -- Send signal sig to the daemon process.
              The default signal is SIGTERM.
`,
	"logreopen": `logreopen -- Send a SIGUSR2 signal to the daemon process.
             This is designed to reopen the log file.
             Also reopens the transcript log file.
`,
	"logtail": `logtail [logfile] -- Run tail -f on the given logfile.
                     A default file may exist.
                     Hit ^C to exit this mode.
`,
	"reopen_transcript": `reopen_transcript -- Reopen the transcript log file.
                     Use after log rotation.
`,
	"restart": `restart -- Stop and then start the daemon process.
`,
	"show": `show options -- show zdctl options
show python -- show Python version and details
show all -- show all of the above
`,
	"start": `start -- Start the daemon process.
         If it is already running, do nothing.
`,
	"status": `status [-l] -- Print status for the daemon process.
               With -l, show raw status output as well.
`,
	"stop": `stop -- Stop the daemon process.
        If it is not running, do nothing.
`,
	"wait": `wait -- Wait for the daemon process to exit.
`,
}

func init() { topicHelp["foreground"] = topicHelp["fg"] }

// HelpCommand is "help [topic]".
type HelpCommand struct{ *Meta }

func (c *HelpCommand) Synopsis() string { return "Print help for an action" }
func (c *HelpCommand) Help() string     { return helpText("help [ACTION]", "help", "") }

func (c *HelpCommand) Run(args []string) int {
	topic := joinArg(args)
	if topic == "" {
		fmt.Fprint(c.Out, helpListing)
		return 0
	}
	text, ok := topicHelp[topic]
	if !ok {
		fmt.Fprintf(c.Out, "*** No help on %s\n", topic)
		return 0
	}
	fmt.Fprint(c.Out, text)
	return 0
}
