package cli

import (
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// This file reads a command line word by word against the kong model, as
// kong reads it: which command the words select, which flag waits for its
// value, where exec's COMMAND begins. Parse errors (errors.go) and shell
// completion (complete.go) both stand on it, so neither depends on kong's
// wording, and both see every command and flag the model gains.

// reading is where a command line stands after some of its words.
type reading struct {
	app     *kong.Application
	cmd     *kong.Node   // the command word's node; nil before one
	before  string       // the first flag of the credential process given before any word, as typed
	pending *kong.Flag   // the last word was this flag, still without its value
	args    int          // positional arguments of cmd read so far
	command int          // index of the word where exec's COMMAND begins; -1 before it
	dashes  bool         // "--" was read
	empty   []*kong.Flag // flags given an empty value
}

// problem is a word kong refuses, in the model's terms.
type problem struct {
	kind  problemKind
	word  string     // the word as typed
	flag  *kong.Flag // the flag concerned, if one
	value string     // a refused value, or the word that came where a value was due
}

type problemKind int

const (
	unknownFlag   problemKind = iota // no flag of this command is spelled so
	unknownWord                      // a word where the credential process takes none
	extraArgument                    // a command that takes no (more) argument
	flagBefore                       // a command word after flags of the credential process
	noValue                          // a flag followed by another flag instead of its value
	notInEnum                        // a value outside the flag's fixed set
)

func newReading(app *kong.Application) *reading {
	return &reading{app: app, command: -1}
}

// node is the command whose flags apply now: the credential process
// before a command word.
func (r *reading) node() *kong.Node {
	if r.cmd != nil {
		return r.cmd
	}
	return ProcessNode(r.app)
}

// read reads words in order and stops at the first one kong would refuse.
// A flag at the very end without its value is not a problem here: it is
// left pending, for completion to offer its values.
func (r *reading) read(words []string) *problem {
	for i := 0; i < len(words); i++ {
		w := words[i]
		if r.pending != nil {
			if strings.HasPrefix(w, "-") && w != "-" {
				return &problem{kind: noValue, word: w, flag: r.pending, value: w}
			}
			if p := r.value(r.pending, w); p != nil {
				return p
			}
			r.pending = nil
			continue
		}
		if r.command >= 0 {
			return nil // the rest is COMMAND's
		}
		if w == "--" && !r.dashes {
			r.dashes = true
			continue
		}
		if r.dashes || w == "-" || !strings.HasPrefix(w, "-") {
			if p := r.positional(w, i); p != nil {
				return p
			}
			continue
		}
		if p := r.flag(w); p != nil {
			return p
		}
	}
	return nil
}

// positional reads a word that is no flag: a command word, or an argument
// of the command.
func (r *reading) positional(w string, i int) *problem {
	if r.cmd == nil && !r.dashes {
		c := command(r.app, w)
		switch {
		case c != nil && r.before != "":
			return &problem{kind: flagBefore, word: r.before, value: c.Name}
		case c != nil:
			r.cmd = c
			return nil
		}
		return &problem{kind: unknownWord, word: w}
	}
	n := r.node()
	if r.args >= len(n.Positional) {
		return &problem{kind: extraArgument, word: w}
	}
	p := n.Positional[r.args]
	r.args++
	if p.PassthroughMode != kong.PassThroughModeNone {
		r.command = i
	}
	return nil
}

// flag reads a word that starts with a dash.
func (r *reading) flag(w string) *problem {
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
		return &problem{kind: unknownFlag, word: w}
	}
	if r.cmd == nil && !slices.Contains(r.app.Flags, f) && r.before == "" {
		r.before = name
	}
	switch {
	case f.IsBool():
	case hasValue:
		return r.value(f, value)
	default:
		r.pending = f
	}
	return nil
}

// value checks a flag's value against its fixed set, if it has one; kong
// checks the rest, and decodeDuration durations.
func (r *reading) value(f *kong.Flag, v string) *problem {
	if v == "" {
		r.empty = append(r.empty, f)
	}
	if f.Enum != "" && !slices.Contains(f.EnumSlice(), v) {
		return &problem{kind: notInEnum, word: "--" + f.Name, flag: f, value: v}
	}
	return nil
}

// command is the visible command named w, if there is one.
func command(app *kong.Application, w string) *kong.Node {
	for _, c := range app.Children {
		if c.Type == kong.CommandNode && c.Name == w && !c.Hidden {
			return c
		}
	}
	return nil
}

// ProcessNode is the credential process: the hidden default command.
func ProcessNode(app *kong.Application) *kong.Node {
	for _, c := range app.Children {
		if c.Name == processName {
			return c
		}
	}
	return app.Node
}

// findFlag is the first flag of n, else of the whole command line (--help,
// --version), that match accepts.
func findFlag(n *kong.Node, app *kong.Application, match func(*kong.Flag) bool) *kong.Flag {
	for _, flags := range [][]*kong.Flag{n.Flags, app.Flags} {
		for _, f := range flags {
			if match(f) {
				return f
			}
		}
	}
	return nil
}

// visibleFlags are the flags a user can type in n: its own, then those of
// the whole command line.
func visibleFlags(n *kong.Node, app *kong.Application) []*kong.Flag {
	var out []*kong.Flag
	for _, f := range slices.Concat(n.Flags, app.Flags) {
		if !f.Hidden {
			out = append(out, f)
		}
	}
	return out
}
