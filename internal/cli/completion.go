package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/gcp-aws-cred/gcp-aws-cred/output"
)

// This file writes the shell completion scripts. They are generated from
// the kong model when `gcp-aws-cred completion SHELL` runs, and complete
// from word lists inside the script: the shell never runs gcp-aws-cred to
// complete a word, and the credential process carries no completion code,
// so its start-up pays nothing for them.

// CompletionCmd prints a shell completion script.
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"The shell: bash, zsh or fish." placeholder:"SHELL"`
}

// Help is the worked example under `completion --help`.
func (*CompletionCmd) Help() string {
	return `Prints the completion script of a shell: command words, flags, and the values
of --output and --log-format. The OS packages and Homebrew install them; by hand:

  gcp-aws-cred completion bash > /etc/bash_completion.d/gcp-aws-cred
  gcp-aws-cred completion zsh > "${fpath[1]}/_gcp-aws-cred"
  gcp-aws-cred completion fish > ~/.config/fish/completions/gcp-aws-cred.fish
  source <(gcp-aws-cred completion bash)     # this bash session only`
}

// Run writes the script to stdout.
func (c *CompletionCmd) Run(kctx *kong.Context, stdout io.Writer) error {
	return WriteCompletion(stdout, kctx.Model, c.Shell)
}

// WriteCompletion writes the completion script of shell (bash, zsh or
// fish) for the command line app.
func WriteCompletion(w io.Writer, app *kong.Application, shell string) error {
	m := completionModel(app)
	var b strings.Builder
	switch shell {
	case "bash":
		m.bash(&b)
	case "zsh":
		m.zsh(&b)
	case "fish":
		m.fish(&b)
	default:
		return fmt.Errorf("no completion for the shell %q: bash, zsh or fish", shell)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// compModel is what the scripts complete: the commands, each with the flags
// it takes. The first command, named "", is the command line with no command
// word: the credential process.
type compModel struct {
	cmds []compCmd
}

type compCmd struct {
	name, help string
	flags      []compFlag
	args       []string // the values of its first argument, if they are a fixed set
	command    bool     // its arguments are a command line (exec)
}

type compFlag struct {
	long, help string
	short      rune
	value      bool     // takes a value
	values     []string // the value's fixed set, if it has one
	file       bool     // the value is a file name
	repeat     bool
}

// completionModel reads the scripts' model from the command line's.
func completionModel(app *kong.Application) compModel {
	global := compFlags(app.Node, nil)
	m := compModel{cmds: []compCmd{{}}}
	for _, c := range app.Children {
		if c.Type != kong.CommandNode {
			continue
		}
		if c.Name == processName {
			m.cmds[0].flags = append(compFlags(c, nil), global...)
			continue
		}
		if c.Hidden {
			continue
		}
		cc := compCmd{name: c.Name, help: firstSentence(c.Help), flags: append(compFlags(c, c), global...)}
		if len(c.Positional) > 0 {
			p := c.Positional[0]
			if p.Enum != "" {
				cc.args = p.EnumSlice()
			}
			cc.command = p.PassthroughMode != kong.PassThroughModeNone
		}
		m.cmds = append(m.cmds, cc)
	}
	if len(m.cmds[0].flags) == 0 {
		m.cmds[0].flags = global
	}
	return m
}

// compFlags lists n's visible flags.
func compFlags(n, cmd *kong.Node) []compFlag {
	var out []compFlag
	for _, f := range n.Flags {
		if f.Hidden {
			continue
		}
		cf := compFlag{long: f.Name, short: f.Short, help: firstSentence(f.Help), value: !f.IsBool(), repeat: f.IsSlice()}
		switch {
		case f.Enum != "":
			cf.values = f.EnumSlice()
		case f.Name == "output":
			cf.values = outputFormats(cmd)
		case f.PlaceHolder == "FILE":
			cf.file = true
		}
		out = append(out, cf)
	}
	return out
}

// outputFormats are the --output values of a command: serve prints
// variables for its clients, which the credential_process document is not.
func outputFormats(cmd *kong.Node) []string {
	var out []string
	for _, f := range formats {
		if cmd != nil && cmd.Name == "serve" && f == output.Process {
			continue
		}
		out = append(out, string(f))
	}
	return out
}

// firstSentence is the help up to its first full stop, for the one-line
// descriptions shells show next to a candidate.
func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

// words are the command words, in the model's order.
func (m compModel) words() []string {
	var out []string
	for _, c := range m.cmds[1:] {
		out = append(out, c.name)
	}
	return out
}

// valueFlags are the spellings of every flag that takes a value, in any
// command, so the scripts can step over a flag's value when they look for
// the command word.
func (m compModel) valueFlags() []string {
	var out []string
	for _, c := range m.cmds {
		for _, f := range c.flags {
			if !f.value {
				continue
			}
			for _, s := range f.spellings() {
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func (f compFlag) spellings() []string {
	out := []string{"--" + f.long}
	if f.short != 0 {
		out = append(out, "-"+string(f.short))
	}
	return out
}

func (m compModel) bash(b *strings.Builder) {
	fmt.Fprintf(b, `# bash completion for %[1]s                             -*- shell-script -*-
# Generated from the command line by "%[1]s completion bash"; it never runs
# %[1]s to complete a word.

_gcp_aws_cred() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local cmd= i w dashdash=
    COMPREPLY=()
    # The command word is the first word that is neither a flag nor a
    # flag's value.
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        --) dashdash=1; break ;;
        %[2]s)
            ((i++))
            [[ ${COMP_WORDS[i]} == = ]] && ((i++)) ;;
        -*) ;;
        *) cmd=$w; break ;;
        esac
    done
    if [[ -n $cmd ]]; then
        for ((i++; i < COMP_CWORD; i++)); do
            [[ ${COMP_WORDS[i]} == -- ]] && dashdash=1
        done
    fi
    if [[ -n $dashdash ]]; then
        # exec's COMMAND: whatever the shell would complete.
        compopt -o default 2>/dev/null
        return
    fi

    # A flag's value: after "--flag " or "--flag=".
    local flag=$prev
    [[ $prev == = && $COMP_CWORD -ge 2 ]] && flag=${COMP_WORDS[COMP_CWORD-2]}
    [[ $cur == = ]] && { flag=$prev; cur=; }
    case "$cmd $flag" in
`, Name, strings.Join(m.valueFlags(), "|"))
	// One branch per action, listing every "command flag" it serves.
	var actions []string
	pats := map[string][]string{}
	for _, c := range m.cmds {
		for _, f := range c.flags {
			if !f.value {
				continue
			}
			action := "return ;;" // a value the script cannot guess: offer nothing
			switch {
			case len(f.values) > 0:
				action = fmt.Sprintf(`COMPREPLY=($(compgen -W %q -- "$cur")); return ;;`, strings.Join(f.values, " "))
			case f.file:
				action = `compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return ;;`
			}
			if _, ok := pats[action]; !ok {
				actions = append(actions, action)
			}
			for _, s := range f.spellings() {
				pats[action] = append(pats[action], fmt.Sprintf("%q", c.name+" "+s))
			}
		}
	}
	for _, a := range actions {
		fmt.Fprintf(b, "    %s)\n        %s\n", strings.Join(pats[a], "|"), a)
	}
	b.WriteString("    esac\n\n    case $cmd in\n")
	for _, c := range m.cmds {
		var flags []string
		for _, f := range c.flags {
			flags = append(flags, f.spellings()...)
		}
		var words string
		switch {
		case c.name == "":
			words = strings.Join(m.words(), " ")
		case len(c.args) > 0:
			words = strings.Join(c.args, " ")
		}
		pat := c.name
		if pat == "" {
			pat = `""`
		}
		fmt.Fprintf(b, "    %s)\n", pat)
		if words == "" {
			fmt.Fprintf(b, "        COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n", strings.Join(flags, " "))
			continue
		}
		b.WriteString("        if [[ $cur == -* ]]; then\n")
		fmt.Fprintf(b, "            COMPREPLY=($(compgen -W %q -- \"$cur\"))\n", strings.Join(flags, " "))
		b.WriteString("        else\n")
		fmt.Fprintf(b, "            COMPREPLY=($(compgen -W %q -- \"$cur\"))\n", words)
		b.WriteString("        fi ;;\n")
	}
	fmt.Fprintf(b, "    esac\n}\n\ncomplete -F _gcp_aws_cred %s\n", Name)
}

// zshQuote quotes s for a single-quoted zsh word.
func zshQuote(s string) string { return strings.ReplaceAll(s, "'", `'\''`) }

// zshDesc makes s safe inside the brackets of an _arguments spec.
func zshDesc(s string) string {
	return zshQuote(strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, ":", `\:`).Replace(s))
}

func (m compModel) zsh(b *strings.Builder) {
	fmt.Fprintf(b, `#compdef %[1]s
# zsh completion for %[1]s, generated from the command line by
# "%[1]s completion zsh"; it never runs %[1]s to complete a word.

_gcp-aws-cred() {
    local cmd i
    local -a commands
    commands=(
`, Name)
	for _, c := range m.cmds[1:] {
		fmt.Fprintf(b, "        '%s:%s'\n", c.name, zshQuote(c.help))
	}
	fmt.Fprintf(b, `    )
    for ((i = 2; i < CURRENT; i++)); do
        case ${words[i]} in
        (--) break ;;
        (%s) ((i++)) ;;
        (-*) ;;
        (*) cmd=${words[i]}; break ;;
        esac
    done
    if [[ -n $cmd ]]; then
        words=("${(@)words[i,-1]}")
        ((CURRENT -= i - 1))
    fi
    case $cmd in
`, strings.Join(m.valueFlags(), "|"))
	for _, c := range m.cmds {
		pat := c.name
		if pat == "" {
			pat = "''"
		}
		fmt.Fprintf(b, "    (%s)\n        _arguments -s -S", pat)
		for _, f := range c.flags {
			excl := ""
			if f.short != 0 {
				excl = fmt.Sprintf("(-%c --%s)", f.short, f.long)
			}
			if f.repeat {
				excl = "*"
			}
			arg := ""
			if f.value {
				action := " "
				switch {
				case len(f.values) > 0:
					action = "(" + strings.Join(f.values, " ") + ")"
				case f.file:
					action = "_files"
				}
				arg = ":" + zshQuote(strings.ToLower(f.long)) + ":" + action
			}
			for _, s := range f.spellings() {
				sep := ""
				if f.value {
					sep = "="
					if !strings.HasPrefix(s, "--") {
						sep = "+"
					}
				}
				fmt.Fprintf(b, " \\\n            '%s%s%s[%s]%s'", excl, s, sep, zshDesc(f.help), arg)
			}
		}
		switch {
		case c.name == "":
			b.WriteString(" \\\n            '1: :{_describe command commands}'")
		case len(c.args) > 0:
			fmt.Fprintf(b, " \\\n            '1:%s:(%s)'", strings.ToLower(c.name), strings.Join(c.args, " "))
		case c.command:
			b.WriteString(" \\\n            '*:: :_normal'")
		}
		b.WriteString(" ;;\n")
	}
	b.WriteString("    esac\n}\n\nif [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n    _gcp-aws-cred \"$@\"\nelse\n    compdef _gcp-aws-cred " + Name + "\nfi\n")
}

// fishQuote quotes s as a single-quoted fish word.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

func (m compModel) fish(b *strings.Builder) {
	fmt.Fprintf(b, `# fish completion for %[1]s, generated from the command line by
# "%[1]s completion fish"; it never runs %[1]s to complete a word.

# The command word: the first word that is neither a flag nor a flag's value.
function __gcp_aws_cred_command
    set -l words (commandline -opc)
    set -e words[1]
    while set -q words[1]
        switch $words[1]
            case --
                return
            case %[2]s
                set -e words[1]
            case '-*'
            case '*'
                echo $words[1]
                return
        end
        set -e words[1]
    end
end

function __gcp_aws_cred_is
    set -l cmd (__gcp_aws_cred_command)
    test "$cmd" = "$argv[1]"
end

complete -c %[1]s -f
`, Name, strings.Join(m.valueFlags(), " "))
	for _, c := range m.cmds[1:] {
		fmt.Fprintf(b, "complete -c %s -n '__gcp_aws_cred_is \"\"' -a %s -d %s\n", Name, c.name, fishQuote(c.help))
	}
	for _, c := range m.cmds {
		cond := fishQuote("__gcp_aws_cred_is " + fmt.Sprintf("%q", c.name))
		for _, f := range c.flags {
			line := fmt.Sprintf("complete -c %s -n %s -l %s", Name, cond, f.long)
			if f.short != 0 {
				line += fmt.Sprintf(" -s %c", f.short)
			}
			switch {
			case len(f.values) > 0:
				line += " -x -a " + fishQuote(strings.Join(f.values, " "))
			case f.file:
				line += " -r -F"
			case f.value:
				line += " -x"
			}
			fmt.Fprintf(b, "%s -d %s\n", line, fishQuote(f.help))
		}
		if len(c.args) > 0 {
			fmt.Fprintf(b, "complete -c %s -n %s -a %s\n", Name, cond, fishQuote(strings.Join(c.args, " ")))
		}
		if c.command {
			fmt.Fprintf(b, "complete -c %s -n %s -F\n", Name, cond)
		}
	}
}
