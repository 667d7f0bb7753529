package cli

import (
	"slices"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
)

// This file reads a command line word by word against the kong model, as
// kong reads it: which command the words select, which flag waits for its
// value, where exec's COMMAND begins, and how each flag was typed. Parse
// errors (errors.go), the checks after a parse and shell completion
// (completion.go) all stand on this one reading, so none depends on kong's
// wording, and all see every command and flag the model gains.

// reading is where a command line stands after some of its words.
type reading struct {
	app     *kong.Application
	cause   error             // kong's refusal of the words, if any, for the explanations
	cmd     *kong.Node        // the command word's node; nil before one
	before  string            // the first flag of the credential process given before any word, as typed
	pending *kong.Flag        // the last word was this flag, still without its value
	args    int               // positional arguments of cmd read so far
	command int               // index of the word where exec's COMMAND begins; -1 before it
	dashes  bool              // "--" was read
	typed   map[string]string // the flags given, by name: the last value as typed ("" for a bool)
}

func newReading(app *kong.Application, cause error) *reading {
	return &reading{app: app, cause: cause, command: -1, typed: map[string]string{}}
}

// node is the command whose flags apply now: the credential process
// before a command word.
func (r *reading) node() *kong.Node {
	if r.cmd != nil {
		return r.cmd
	}
	return ProcessNode(r.app)
}

// read reads words in order and stops at the first one kong would refuse,
// explaining why. A flag at the very end without its value is not refused
// here: it is left pending, for completion to offer its values.
func (r *reading) read(words []string) *explain.Error {
	for i, w := range words {
		switch {
		case r.pending != nil && strings.HasPrefix(w, "-") && w != "-":
			f := r.pending
			return explain.Errorf(r.cause, "--%s needs a value, but %s follows it", f.Name, w).
				Hint(flagHint(f)...).
				Hint("a value that starts with a dash goes after an equals sign: --" + f.Name + "=" + w)
		case r.pending != nil:
			f := r.pending
			r.pending = nil
			if e := r.value(f, w); e != nil {
				return e
			}
		case r.command >= 0:
			return nil // the rest is COMMAND's
		case w == "--" && !r.dashes:
			r.dashes = true
		case r.dashes || w == "-" || !strings.HasPrefix(w, "-"):
			if e := r.positional(w, i); e != nil {
				return e
			}
		default:
			if e := r.flag(w); e != nil {
				return e
			}
		}
	}
	return nil
}

// positional reads a word that is no flag: a command word, or an argument
// of the command.
func (r *reading) positional(w string, i int) *explain.Error {
	if r.cmd == nil && !r.dashes {
		c := command(r.app, w)
		switch {
		case c != nil && r.before != "":
			return explain.Errorf(r.cause, "%s comes before the command word %s", r.before, c.Name).
				Hint("put the command word first: " + Name + " " + c.Name + " " + r.before + " …")
		case c != nil:
			r.cmd = c
			return nil
		case w == ProcessName && r.before == "":
			// The credential process's hidden word, first: the agent runs
			// its child as "get" and the caller's words, whose flags must
			// read as they do without it (how a duration was typed).
			r.cmd = ProcessNode(r.app)
			return nil
		}
		return unknownCommand(r, w)
	}
	n := r.node()
	if r.args >= len(n.Positional) {
		return explain.Errorf(r.cause, "%s takes no argument %q", commandName(r.cmd), w).Hint(r.help())
	}
	if n.Positional[r.args].PassthroughMode != kong.PassThroughModeNone {
		r.command = i
	}
	r.args++
	return nil
}

// flag reads a word that starts with a dash.
func (r *reading) flag(w string) *explain.Error {
	name, value, hasValue := strings.Cut(w, "=")
	var f *kong.Flag
	if long, ok := strings.CutPrefix(name, "--"); ok {
		f = findFlag(r.node(), r.app, func(f *kong.Flag) bool { return f.Name == long })
	} else if len(name) > 1 {
		short := []rune(name[1:])[0]
		f = findFlag(r.node(), r.app, func(f *kong.Flag) bool { return f.Short == short })
		if f != nil && !f.IsBool() && len(name) > 2 {
			value, hasValue = name[2:], true // -oenv
			if _, after, ok := strings.Cut(w, "="); ok {
				value = name[2:] + "=" + after
			}
		}
	}
	if f == nil {
		return unknownFlag(r, w).Hint(r.help())
	}
	if r.cmd == nil && !slices.Contains(r.app.Flags, f) && r.before == "" {
		r.before = name
	}
	switch {
	case f.IsBool():
		r.typed[f.Name] = ""
	case hasValue:
		return r.value(f, value)
	default:
		r.pending = f
	}
	return nil
}

// value records a flag's value and checks it against its fixed set, if it
// has one; kong checks the rest, and decodeDuration durations.
func (r *reading) value(f *kong.Flag, v string) *explain.Error {
	r.typed[f.Name] = v
	if f.Enum != "" && !slices.Contains(f.EnumSlice(), v) {
		return explain.Errorf(r.cause, "--%s %q is not one of %s", f.Name, v, strings.Join(f.EnumSlice(), ", ")).
			Hint(flagHint(f)...)
	}
	return nil
}

// help is the hint that points to the usage of the command read.
func (r *reading) help() string {
	if r.cmd != nil {
		return "run " + Name + " " + r.cmd.Name + " --help for usage"
	}
	return "run " + Name + " --help for usage"
}

// command is the visible command named w, if there is one.
func command(app *kong.Application, w string) *kong.Node {
	for _, c := range Commands(app) {
		if c.Name == w {
			return c
		}
	}
	return nil
}

// ProcessNode is the credential process: the hidden default command.
func ProcessNode(app *kong.Application) *kong.Node {
	for _, c := range app.Children {
		if c.Name == ProcessName {
			return c
		}
	}
	return app.Node
}

// findFlag is the first flag of n, else of the whole command line (--help,
// --version), that match accepts.
func findFlag(n *kong.Node, app *kong.Application, match func(*kong.Flag) bool) *kong.Flag {
	flags := slices.Concat(n.Flags, app.Flags)
	if i := slices.IndexFunc(flags, match); i >= 0 {
		return flags[i]
	}
	return nil
}

// visibleFlags are the flags a user can type in n: its own, then those of
// the whole command line.
func visibleFlags(n *kong.Node, app *kong.Application) []*kong.Flag {
	return slices.DeleteFunc(slices.Concat(n.Flags, app.Flags), func(f *kong.Flag) bool { return f.Hidden })
}
