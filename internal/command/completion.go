package command

import (
	"flag"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/drplan/drplan/plans"
)

// Shell completion, generated from the verb table and each verb's own
// flag set, so that a new verb or flag is completed without touching this
// file.

var shells = []string{"bash", "zsh", "fish"}

func runCompletion(c *cli, args []string) int {
	f := c.newFlags("completion", "bash|zsh|fish",
		"Prints a completion script for the shell: the commands, each command's\nflags, the run modes after -mode and directories for DIR. See the README\nfor how to install it in each shell.")
	pos, code, ok := c.parse(f, args, 1)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		fmt.Fprintf(c.stderr, "drplan completion: which shell? Usage: drplan completion bash|zsh|fish\n")
		return ExitError
	}
	vs := c.completionVerbs()
	switch pos[0] {
	case "bash":
		writeBash(c.stdout, vs)
	case "zsh":
		writeZsh(c.stdout, vs)
	case "fish":
		writeFish(c.stdout, vs)
	default:
		fmt.Fprintf(c.stderr, "drplan completion: unknown shell %q; drplan completes bash, zsh and fish.\nUsage: drplan completion bash|zsh|fish\n", pos[0])
		return ExitError
	}
	return ExitOK
}

// compFlag is one flag as the completion scripts see it.
type compFlag struct {
	name   string // without dashes
	dashes string // "-" or "--", as the verb's synopsis writes it
	help   string
	value  bool     // takes a value
	values []string // the values it takes, when there is a fixed set
	files  bool     // its value is a file
	dirs   bool     // its value is a directory
	repeat bool     // may be given more than once
}

// compVerb is one verb: its flags and what its positional arguments are.
type compVerb struct {
	name, synopsis string
	sub            string // a subcommand that comes first (sim serve)
	flags          []compFlag
	args           string   // "dir", "file", "runid-dir", "shell", "verb" or ""
	words          []string // fixed words for args "shell" and "verb"
}

// completionVerbs reads every verb's flag set by running it with collect
// set, which stops it in parse before it does anything.
func (c *cli) completionVerbs() []compVerb {
	var out []compVerb
	var names []string
	for _, v := range verbs() {
		names = append(names, v.name)
	}
	for _, v := range verbs() {
		var got *flags
		cc := &cli{stdout: io.Discard, stderr: io.Discard, environ: c.environ, collect: func(f *flags) { got = f }}
		cv := compVerb{name: v.name, synopsis: v.synopsis, args: "dir"}
		var args []string
		switch v.name {
		case "sim":
			cv.sub, args = "serve", []string{"serve"}
		case "apply", "fmt":
			cv.args = "file"
		case "report", "resume":
			cv.args = "runid-dir"
		case "version":
			cv.args = ""
		case "completion":
			cv.args, cv.words = "shell", shells
		}
		v.run(cc, args)
		if got != nil {
			cv.flags = compFlags(got)
		}
		out = append(out, cv)
	}
	out = append(out, compVerb{name: "help", synopsis: "Show the commands, or a command's flags", args: "verb", words: names})
	return out
}

var valueList = regexp.MustCompile(`^[a-z0-9]+(\|[a-z0-9]+)*$`)

func compFlags(f *flags) []compFlag {
	var out []compFlag
	synopsis := " " + f.usage + " "
	f.VisitAll(func(fl *flag.Flag) {
		placeholder, help := flag.UnquoteUsage(fl)
		cf := compFlag{name: fl.Name, dashes: "-", help: help, value: true}
		if b, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			cf.value = false
		}
		if regexp.MustCompile(`[\s\[(|]--` + regexp.QuoteMeta(fl.Name) + `[\s\]|)=]`).MatchString(synopsis) {
			cf.dashes = "--"
		}
		switch {
		case fl.Name == "mode":
			for _, m := range plans.Modes {
				cf.values = append(cf.values, string(m))
			}
		case fl.Name == "var-file" || placeholder == "FILE":
			cf.files = true
		case fl.Name == "state-dir" || placeholder == "DIR":
			cf.dirs = true
		}
		// A fixed set of values in the synopsis: -format html|md|json|junit.
		if m := regexp.MustCompile(`-` + regexp.QuoteMeta(fl.Name) + ` ([^\s\]]+)`).FindStringSubmatch(synopsis); m != nil && cf.value && cf.values == nil && valueList.MatchString(m[1]) {
			cf.values = strings.Split(m[1], "|")
		}
		cf.repeat = fl.Name == "var" || fl.Name == "var-file" || fl.Name == "point"
		out = append(out, cf)
	})
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func verbNames(vs []compVerb) string {
	var names []string
	for _, v := range vs {
		names = append(names, v.name)
	}
	return strings.Join(names, " ")
}

func writeBash(w io.Writer, vs []compVerb) {
	fmt.Fprintf(w, `# bash completion for drplan: drplan completion bash
# Load it with: source <(drplan completion bash)
_drplan() {
    local cur prev verb i
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    verb=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
        -*) ;;
        *) verb="${COMP_WORDS[i]}"; break ;;
        esac
    done
    case "$verb" in
    "")
        COMPREPLY=($(compgen -W "%s" -- "$cur"))
        return ;;
`, verbNames(vs))
	for _, v := range vs {
		fmt.Fprintf(w, "    %s)\n", v.name)
		if v.sub != "" {
			fmt.Fprintf(w, "        if [[ $prev == %s ]]; then COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi\n", v.name, v.sub)
		}
		var all []string
		cases := false
		for _, f := range v.flags {
			all = append(all, f.dashes+f.name)
			if !f.value {
				continue
			}
			if !cases {
				fmt.Fprintf(w, "        case \"$prev\" in\n")
				cases = true
			}
			pat := "-" + f.name + "|--" + f.name
			switch {
			case f.values != nil:
				fmt.Fprintf(w, "        %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", pat, strings.Join(f.values, " "))
			case f.files:
				fmt.Fprintf(w, "        %s) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", pat)
			case f.dirs:
				fmt.Fprintf(w, "        %s) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n", pat)
			default:
				fmt.Fprintf(w, "        %s) return ;;\n", pat)
			}
		}
		if cases {
			fmt.Fprintf(w, "        esac\n")
		}
		if len(all) > 0 {
			fmt.Fprintf(w, "        if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi\n", strings.Join(all, " "))
		}
		switch v.args {
		case "dir":
			fmt.Fprintf(w, "        COMPREPLY=($(compgen -d -- \"$cur\")) ;;\n")
		case "file":
			fmt.Fprintf(w, "        COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n")
		case "runid-dir":
			fmt.Fprintf(w, "        COMPREPLY=($(compgen -W latest -- \"$cur\") $(compgen -d -- \"$cur\")) ;;\n")
		case "shell", "verb":
			fmt.Fprintf(w, "        COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n", strings.Join(v.words, " "))
		default:
			fmt.Fprintf(w, "        ;;\n")
		}
	}
	fmt.Fprintf(w, "    esac\n}\ncomplete -o filenames -F _drplan drplan\n")
}

// zshQuote quotes s for a single-quoted _arguments spec or _describe
// entry: brackets and colons escaped, single quotes closed and reopened.
func zshQuote(s string) string {
	s = strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, ":", `\:`, "\n", " ").Replace(s)
	return strings.ReplaceAll(s, "'", `'\''`)
}

func writeZsh(w io.Writer, vs []compVerb) {
	fmt.Fprintf(w, "#compdef drplan\n# zsh completion for drplan: drplan completion zsh\n\n_drplan() {\n  local -a commands\n  commands=(\n")
	for _, v := range vs {
		fmt.Fprintf(w, "    '%s:%s'\n", v.name, zshQuote(v.synopsis))
	}
	fmt.Fprintf(w, "  )\n  if (( CURRENT == 2 )); then\n    _describe -t commands 'drplan command' commands\n    return\n  fi\n  local verb=${words[2]}\n  shift words\n  (( CURRENT-- ))\n  case $verb in\n")
	for _, v := range vs {
		fmt.Fprintf(w, "  %s)\n", v.name)
		if v.sub != "" {
			fmt.Fprintf(w, "    if (( CURRENT == 2 )); then compadd %s; return; fi\n    shift words\n    (( CURRENT-- ))\n", v.sub)
		}
		specs := []string{}
		for _, f := range v.flags {
			spec := f.dashes + f.name + "[" + zshQuote(f.help) + "]"
			if f.repeat {
				spec = "*" + spec
			}
			if f.value {
				switch {
				case f.values != nil:
					spec += ":" + f.name + ":(" + strings.Join(f.values, " ") + ")"
				case f.files:
					spec += ":file:_files"
				case f.dirs:
					spec += ":directory:_files -/"
				default:
					spec += ":" + f.name + ": "
				}
			}
			specs = append(specs, "'"+spec+"'")
		}
		switch v.args {
		case "dir":
			specs = append(specs, "'1:plan directory:_files -/'")
		case "file":
			specs = append(specs, "'1:file:_files'")
		case "runid-dir":
			specs = append(specs, "'1:run id:(latest)'", "'2:plan directory:_files -/'")
		case "shell", "verb":
			specs = append(specs, "'1:"+v.args+":("+strings.Join(v.words, " ")+")'")
		}
		if len(specs) > 0 {
			fmt.Fprintf(w, "    _arguments \\\n      %s\n", strings.Join(specs, " \\\n      "))
		}
		fmt.Fprintf(w, "    ;;\n")
	}
	fmt.Fprintf(w, "  esac\n}\n\nif [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n  _drplan \"$@\"\nelse\n  compdef _drplan drplan\nfi\n")
}

// fishQuote single-quotes s for fish.
func fishQuote(s string) string {
	s = strings.NewReplacer(`\`, `\\`, "'", `\'`, "\n", " ").Replace(s)
	return "'" + s + "'"
}

func writeFish(w io.Writer, vs []compVerb) {
	fmt.Fprintf(w, "# fish completion for drplan: drplan completion fish\ncomplete -c drplan -f\n")
	for _, v := range vs {
		fmt.Fprintf(w, "complete -c drplan -n __fish_use_subcommand -a %s -d %s\n", v.name, fishQuote(v.synopsis))
	}
	for _, v := range vs {
		cond := fishQuote("__fish_seen_subcommand_from " + v.name)
		if v.sub != "" {
			fmt.Fprintf(w, "complete -c drplan -n %s -a %s\n", fishQuote("__fish_seen_subcommand_from "+v.name+"; and not __fish_seen_subcommand_from "+v.sub), v.sub)
			cond = fishQuote("__fish_seen_subcommand_from " + v.name + "; and __fish_seen_subcommand_from " + v.sub)
		}
		for _, f := range v.flags {
			opt := "-o"
			if f.dashes == "--" {
				opt = "-l"
			}
			line := fmt.Sprintf("complete -c drplan -n %s %s %s", cond, opt, f.name)
			if f.value {
				switch {
				case f.values != nil:
					line += " -x -a " + fishQuote(strings.Join(f.values, " "))
				case f.files:
					line += " -r -F"
				case f.dirs:
					line += " -x -a '(__fish_complete_directories)'"
				default:
					line += " -x"
				}
			}
			fmt.Fprintf(w, "%s -d %s\n", line, fishQuote(f.help))
		}
		switch v.args {
		case "dir":
			fmt.Fprintf(w, "complete -c drplan -n %s -a '(__fish_complete_directories)'\n", cond)
		case "file":
			fmt.Fprintf(w, "complete -c drplan -n %s -F\n", cond)
		case "runid-dir":
			fmt.Fprintf(w, "complete -c drplan -n %s -a 'latest (__fish_complete_directories)'\n", cond)
		case "shell", "verb":
			fmt.Fprintf(w, "complete -c drplan -n %s -a %s\n", cond, fishQuote(strings.Join(v.words, " ")))
		}
	}
}
