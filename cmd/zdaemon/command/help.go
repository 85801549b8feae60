package command

import (
	"context"
	"fmt"
	"slices"
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

// addedListing follows the original's listing in "help": the commands
// zdaemon adds, in the form of Python's cmd.Cmd topic lists.
const addedListing = `Added by zdaemon (type help <topic>, or <command> -h):
======================================================
convert  export  history  metrics  reload  run  upgrade  validate

`

// addedTopics are the commands whose help topic is their Help().
var addedTopics = []string{"convert", "export", "history", "metrics", "reload", "run", "upgrade", "validate"}

// HelpCommand is "help [topic]".
type HelpCommand struct{ *Meta }

// HelpArgs are help's: the topic (the listing when empty).
type HelpArgs struct{ Topic string }

func (c *HelpCommand) Synopsis() string { return "Print help for an action" }
func (c *HelpCommand) Help() string {
	return helpText("help [ACTION]", "help", `help needs no -p or -C. The original's actions print the original's
texts; validate, convert, export and run print their own help, which
"zdaemon ACTION -h" prints for every action.`, "0  always, also for an unknown topic (as the original)")
}

func (c *HelpCommand) Run(args []string) int {
	a, code := c.ParseArgs(args)
	if a == nil {
		return code
	}
	return c.RunContext(context.Background(), a)
}

func (c *HelpCommand) ParseArgs(args []string) (*HelpArgs, int) {
	return &HelpArgs{Topic: joinArg(args)}, 0
}

// RunContext prints the listing or a topic; an unknown topic gets the
// original's answer (exit 0).
func (c *HelpCommand) RunContext(_ context.Context, a *HelpArgs) int {
	if a.Topic == "" {
		fmt.Fprint(c.Out, helpListing+addedListing)
		return 0
	}
	if text, ok := topicHelp[a.Topic]; ok {
		fmt.Fprint(c.Out, text)
		return 0
	}
	if slices.Contains(addedTopics, a.Topic) {
		cmd, _ := c.commands()[a.Topic]()
		c.Ui.Output(cmd.Help())
		return 0
	}
	fmt.Fprintf(c.Out, "*** No help on %s\n", a.Topic)
	return 0
}
