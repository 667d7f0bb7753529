package cli

import (
	"embed"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/gcp-aws-cred/gcp-aws-cred/output"
)

// This file is shell completion, the cobra way: each shell's script is a
// small stub that runs the hidden command `gcp-aws-cred __complete SHELL --
// WORDS…` and shows what it prints. The words are read against the kong
// model (read.go), so a command or flag added to the model completes with
// no edit here. The credential process's own parser (processCLI) does not
// hold these commands, so plain runs pay nothing for them.

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
func (c *CompletionCmd) Run(stdout io.Writer) error {
	b, err := stubs.ReadFile("completion." + c.Shell)
	if err != nil {
		return err
	}
	_, err = stdout.Write(b)
	return err
}

// CompleteCmd answers a shell's stub: the candidates for the last word,
// one a line, each with a tab and its description where it has one; or a
// line that starts with a colon and tells the stub to complete something
// else: ":files", or ":command N" for a command line that starts at the
// shell's word N (exec's COMMAND).
type CompleteCmd struct {
	Shell string   `arg:"" enum:"bash,zsh,fish"`
	Words []string `arg:"" optional:""`
}

// Run prints the candidates.
func (c *CompleteCmd) Run(kctx *kong.Context, stdout io.Writer) error {
	var b strings.Builder
	for _, l := range complete(kctx.Model, c.Shell, c.Words) {
		b.WriteString(l + "\n")
	}
	_, err := io.WriteString(stdout, b.String())
	return err
}

// complete is what the stub of shell shows for words, the words after the
// program's name, the last being the one under the cursor.
func complete(app *kong.Application, shell string, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	// bash splits words at = and : too (COMP_WORDBREAKS), so --output=env
	// and arn:aws:iam::… come in pieces; put them together, and remember
	// where each word began in the shell's count.
	var args []string
	var pos []int // pos[i] is args[i]'s index among the shell's words, 1 for the first after the name
	joinNext := false
	for i, w := range words {
		breaks := w != "" && strings.Trim(w, "=:") == ""
		if shell == "bash" && len(args) > 0 && (joinNext || breaks) {
			args[len(args)-1] += w
			joinNext = breaks
			continue
		}
		args, pos, joinNext = append(args, w), append(pos, i+1), false
	}
	cur, before := args[len(args)-1], args[:len(args)-1]
	if len(before) <= 1 && !strings.HasPrefix(cur, "-") && (len(before) == 0 || before[0] == "help") {
		// A command word: after nothing, or after help.
		var out []string
		for _, c := range Commands(app) {
			out = appendMatch(out, cur, c.Name, firstSentence(c.Help))
		}
		if len(before) == 0 {
			out = appendMatch(out, cur, "help", "Show the help of the credential process, or of a command")
		}
		return out
	}
	r := newReading(app, nil)
	if r.read(before) != nil {
		return nil
	}
	n := r.node()
	switch {
	case r.command >= 0:
		return []string{fmt.Sprintf(":command %d", pos[r.command])}
	case r.pending != nil:
		return values(r.pending, n, "", cur)
	case strings.HasPrefix(cur, "-") && !r.dashes:
		if flag, value, ok := strings.Cut(cur, "="); ok {
			f := findFlag(n, app, func(f *kong.Flag) bool { return "--"+f.Name == flag })
			if f == nil || f.IsBool() {
				return nil
			}
			prefix := flag + "="
			if shell == "bash" {
				prefix = "" // bash replaces only what follows the "="
			}
			return values(f, n, prefix, value)
		}
		var out []string
		for _, f := range visibleFlags(n, app) {
			out = appendMatch(out, cur, "--"+f.Name, firstSentence(f.Help))
		}
		if hasCommand(n) && r.args == 0 {
			out = appendMatch(out, cur, "--", "The command follows")
		}
		return out
	case r.cmd != nil && r.args < len(n.Positional) && n.Positional[r.args].Enum != "":
		var out []string
		for _, v := range n.Positional[r.args].EnumSlice() {
			out = appendMatch(out, cur, v, "")
		}
		return out
	case hasCommand(n) && r.args == 0: // after exec's flags, or its "--"
		return []string{fmt.Sprintf(":command %d", pos[len(pos)-1])}
	}
	return nil
}

// hasCommand reports whether n's arguments are a command line (exec).
func hasCommand(n *kong.Node) bool {
	return len(n.Positional) > 0 && n.Positional[0].PassthroughMode != kong.PassThroughModeNone
}

// values are the candidates for f's value in the command n: its fixed set,
// or file names, or nothing (an ARN or a duration cannot be guessed).
func values(f *kong.Flag, n *kong.Node, prefix, cur string) []string {
	var set []string
	switch {
	case f.Enum != "":
		set = f.EnumSlice()
	case f.Name == "output":
		// serve prints variables for its clients, which the
		// credential_process document is not.
		for _, o := range formats {
			if n.Name != "serve" || o != output.Process {
				set = append(set, string(o))
			}
		}
	case f.PlaceHolder == "FILE":
		return []string{":files"}
	}
	var out []string
	for _, v := range set {
		out = appendMatch(out, prefix+cur, prefix+v, "")
	}
	return out
}

// appendMatch appends the candidate word, with its description, if it
// completes cur.
func appendMatch(out []string, cur, word, desc string) []string {
	if !strings.HasPrefix(word, cur) || slices.Contains(out, word) {
		return out
	}
	if desc != "" {
		word += "\t" + strings.ReplaceAll(desc, "\n", " ")
	}
	return append(out, word)
}

// firstSentence is the help up to its first full stop, for the one-line
// descriptions zsh and fish show next to a candidate.
func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

// stubs are the shells' scripts. Each runs the program as the user typed its
// name, so a binary outside PATH completes too.
//
//go:embed completion.bash completion.zsh completion.fish
var stubs embed.FS
