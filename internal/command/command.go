package command

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/agext/levenshtein"
	"golang.org/x/term"

	"github.com/drplan/drplan/internal/words"
	"github.com/drplan/drplan/plans"
)

// Exit codes shared by the verbs.
const (
	ExitOK      = 0
	ExitError   = 1 // bad input, invalid plan, failed run
	ExitChanges = 3 // fmt -check: a file would change
)

// verb is one subcommand.
type verb struct {
	name     string
	synopsis string
	run      func(c *cli, args []string) int
}

func verbs() []verb {
	return []verb{
		{"validate", "Check a plan without touching any site", runValidate},
		{"fmt", "Rewrite plan files in canonical style", runFmt},
		{"plan", "Compile the steps of a run mode against the sites and estimate the RTO", runPlan},
		{"graph", "Print the step graph of a run mode in Graphviz DOT", runGraph},
		{"drill", "Drill the plan: test, verify, clean up, report (simulated sites by default)", runDrill},
		{"run", "Run one mode of the plan: test, cleanup, migrate, failover, reprotect, failback", runRun},
		{"resume", "Continue an interrupted or failed run from its journal", runResume},
		{"apply", "Run a program saved by drplan plan -out, if nothing changed since", runApply},
		{"runs", "List the plan's runs", runRuns},
		{"report", "Render a run's report as HTML, Markdown, JSON or JUnit", runReportVerb},
		{"status", "Show the protection of every group: recovery points, drift, last drill", runStatus},
		{"sim", "Serve a plan's simulated sites as vSphere endpoints (sim serve)", runSim},
		{"version", "Print the drplan version, revision, Go version and platform", runVersion},
		{"completion", "Print a shell completion script: bash, zsh or fish", runCompletion},
	}
}

// cli is the context of one invocation.
type cli struct {
	stdout, stderr io.Writer
	environ        []string
	// events, with -json, is the verb's event stream on the real
	// standard output; stdout then discards the human lines.
	events *eventStream
	// collect, when set, receives each verb's flag set in parse, which
	// then stops the verb before it does anything: completion reads
	// every verb's flags this way.
	collect func(*flags)
}

// Run runs drplan with args (without the program name) and returns the
// exit code.
func Run(args []string, stdout, stderr io.Writer) (code int) {
	c := &cli{stdout: stdout, stderr: stderr, environ: os.Environ()}
	defer func() {
		// A bug must not show a Go stack trace to an operator in the
		// middle of a recovery; say what happened and how to report it.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "drplan: internal error: %v\nThis is a bug in drplan; please report it with the command you ran.\n", r)
			if os.Getenv("DRPLAN_DEBUG") != "" {
				stderr.Write(debug.Stack())
			}
			code = ExitError
		}
	}()
	if len(args) == 0 {
		c.usage(stderr)
		return ExitError
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		return c.help(args[1:])
	case "-version", "--version", "-v":
		name = "version"
	}
	for _, v := range verbs() {
		if v.name == name {
			return v.run(c, args[1:])
		}
	}
	fmt.Fprintf(stderr, "drplan: unknown command %q.%s\n\n", name, suggestVerb(name))
	c.usage(stderr)
	return ExitError
}

// suggestVerb is " Did you mean \"VERB\"?" for the verb closest to a
// mistyped one, or "".
func suggestVerb(name string) string {
	best, bestD := "", 3
	for _, v := range verbs() {
		if d := levenshtein.Distance(name, v.name, nil); d < bestD || d == bestD && best == "" && d <= len(name)/2 {
			best, bestD = v.name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: drplan COMMAND [flags] [DIR]\n\nDisaster-recovery plans as code.\n\nCommands:\n")
	for _, v := range verbs() {
		fmt.Fprintf(w, "  %-10s %s\n", v.name, v.synopsis)
	}
	fmt.Fprintf(w, "\nRun 'drplan COMMAND --help' for a command's flags.\n")
}

// help is drplan help [COMMAND]: the commands, or a command's flags.
func (c *cli) help(args []string) int {
	switch {
	case len(args) == 0:
		c.usage(c.stdout)
		return ExitOK
	case len(args) == 1 && !strings.HasPrefix(args[0], "-"):
		for _, v := range verbs() {
			if v.name == args[0] {
				if v.name == "sim" {
					return v.run(c, []string{"serve", "--help"})
				}
				return v.run(c, []string{"--help"})
			}
		}
		fmt.Fprintf(c.stderr, "drplan help: unknown command %q.%s\n\n", args[0], suggestVerb(args[0]))
	default:
		fmt.Fprintf(c.stderr, "drplan help: unexpected %s.\nUsage: drplan help [COMMAND]\n\n", strings.Join(args, " "))
	}
	c.usage(c.stderr)
	return ExitError
}

// flags is a verb's flag set with the flags most verbs share.
type flags struct {
	*flag.FlagSet
	verb    string
	usage   string // the synopsis after drplan VERB
	vars    []plans.VarArg
	noColor bool
	json    bool
	seed    int64 // of a simulated world (targetFlags)
}

// newFlags makes a flag set for a verb. usage is the synopsis line after
// "drplan VERB", and help a paragraph about the verb.
func (c *cli) newFlags(verb, usage, help string) *flags {
	f := &flags{FlagSet: flag.NewFlagSet(verb, flag.ContinueOnError), verb: verb, usage: usage}
	f.SetOutput(c.stderr)
	f.Usage = func() {
		w := f.Output()
		fmt.Fprintf(w, "Usage: drplan %s %s\n\n%s\n\nFlags:\n", verb, usage, help)
		f.PrintDefaults()
	}
	return f
}

// planFlags adds -var, -var-file and -no-color.
func (f *flags) planFlags() {
	f.Var(varFlag{f, false}, "var", "set a variable: -var 'NAME=VALUE' (repeatable; later wins)")
	f.Var(varFlag{f, true}, "var-file", "set variables from an HCL or JSON file (repeatable)")
	f.BoolVar(&f.noColor, "no-color", false, "print without colour")
}

// varFlag appends -var and -var-file values in command-line order.
type varFlag struct {
	f    *flags
	file bool
}

func (v varFlag) String() string { return "" }

func (v varFlag) Set(s string) error {
	v.f.vars = append(v.f.vars, plans.VarArg{File: v.file, Value: s})
	return nil
}

// parse parses args and returns the positional arguments. ok is false
// when the verb should exit with code.
func (c *cli) parse(f *flags, args []string, maxPos int) (pos []string, code int, ok bool) {
	if c.collect != nil {
		c.collect(f)
		return nil, ExitOK, false
	}
	// --help goes to standard output and is not an error.
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			f.SetOutput(c.stdout)
			f.Usage()
			return nil, ExitOK, false
		}
		if a == "--" {
			break
		}
	}
	// A bad flag gets one line that says what is wrong, the synopsis, and
	// where the flags are described, not the whole flag list.
	f.SetOutput(io.Discard)
	err := f.Parse(args)
	f.SetOutput(c.stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, ExitOK, false
		}
		fmt.Fprintf(c.stderr, "drplan %s: %v\nUsage: %s\nRun 'drplan %s --help' for its flags.\n", f.verb, err, strings.TrimSpace("drplan "+f.verb+" "+f.usage), f.verb)
		return nil, ExitError, false
	}
	pos = f.Args()
	for _, p := range pos {
		if strings.HasPrefix(p, "-") && p != "-" {
			// The same words with the directory moved to the end.
			fixed := append(append(slices.Clone(args[:len(args)-len(pos)]), pos[1:]...), pos[0])
			for i, a := range fixed {
				fixed[i] = words.ShellWord(a)
			}
			fmt.Fprintf(c.stderr, "drplan %s: flag %s comes after the directory; flags go before it, as in: drplan %s %s\n", f.verb, p, f.verb, strings.Join(fixed, " "))
			return nil, ExitError, false
		}
	}
	if len(pos) > 0 && maxPos == 0 {
		fmt.Fprintf(c.stderr, "drplan %s: takes no arguments (got %s). Run 'drplan %s --help'.\n", f.verb, strings.Join(pos, " "), f.verb)
		return nil, ExitError, false
	}
	if len(pos) > maxPos {
		fmt.Fprintf(c.stderr, "drplan %s: too many arguments (%s); give at most %d. Run 'drplan %s --help'.\n", f.verb, strings.Join(pos, " "), maxPos, f.verb)
		return nil, ExitError, false
	}
	return pos, ExitOK, true
}

// color reports whether output to w should use colour.
func (c *cli) color(w io.Writer, noColor bool) bool {
	if noColor {
		return false
	}
	if c.getenv("NO_COLOR") != "" {
		return false
	}
	return isTerminal(w)
}

// isTerminal reports whether w is a terminal: asked of the terminal
// driver (golang.org/x/term, an ioctl), since a character device such as
// /dev/null is no terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// jsonFlag adds -json to a verb that runs programs (drill, run, resume,
// apply): the event stream instead of the human lines.
func (f *flags) jsonFlag() {
	f.BoolVar(&f.json, "json", false, "print one JSON object per event (docs/events.md) instead of the progress lines")
}

// startEvents switches the cli to the event stream when -json is set.
func (c *cli) startEvents(f *flags) {
	if f.json && c.events == nil {
		c.events = newEventStream(c.stdout, f.verb)
		c.stdout = io.Discard
	}
}
