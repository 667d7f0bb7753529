package cli

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
)

// This file explains a command line kong refused. It reads the words
// against the model itself (read.go) rather than kong's English, and
// explains the first word it can: a flag of another command, a long flag
// with one dash, a flag before the command word, a near miss. Anything
// else is kong's own message with a pointer to --help.

// usageError explains err, kong's refusal of the words r read; refused is
// the reading's own explanation of the first word it refused, if any.
func usageError(err error, r *reading, refused *explain.Error) *explain.Error {
	if ve, ok := errors.AsType[*valueError](err); ok { // a value on the command line; kong stopped there
		return explain.Errorf(ve, "--%s %q %s", ve.flag.Name, ve.value, ve.reason).Hint(flagHint(ve.flag)...)
	}
	if refused != nil {
		return refused
	}
	if e := badVariable(r); e != nil {
		return e
	}
	if r.pending != nil {
		return explain.Errorf(err, "--%s needs a value", r.pending.Name).Hint(flagHint(r.pending)...)
	}
	return explain.Errorf(err, "%s", err.Error()).Hint(r.help())
}

// unknownCommand explains a word where the credential process takes none.
func unknownCommand(r *reading, w string) *explain.Error {
	e := explain.Errorf(r.cause, "unknown command %q", w)
	cmds := Commands(r.app)
	switch s := closest(w, cmds); {
	case w == "version":
		e.Hint("did you mean --version?")
	case s != "":
		e.Hint("did you mean " + s + "?")
	case w == "help":
		e.Hint("for help: " + Name + " --help, or " + Name + " COMMAND --help")
	}
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name)
	}
	return e.Hint(fmt.Sprintf("the commands are %s; with none, %s is the credential process, which takes no argument", strings.Join(names, ", "), Name))
}

// unknownFlag explains a flag the command does not take: a flag written
// another way (-role, --ROLE), another command's flag, or a near miss.
func unknownFlag(r *reading, typed string) *explain.Error {
	typed, _, _ = strings.Cut(typed, "=")
	n, app, err := r.node(), r.app, r.cause
	where := commandName(r.cmd)
	long := strings.TrimLeft(typed, "-")
	visible := visibleFlags(n, app)
	if lower := strings.ToLower(long); len(long) > 1 && hasFlag(visible, lower) {
		why := "long flags take two dashes"
		if strings.HasPrefix(typed, "--") {
			why = "flags are lower case"
		}
		return explain.Errorf(err, "unknown flag %s", typed).Hint(fmt.Sprintf("did you mean --%s? %s", lower, why))
	}
	if !strings.HasPrefix(typed, "--") && len(typed) >= 2 {
		// Short flags cluster (-xyz is -x -y -z): kong stops at the first.
		short := typed[:2]
		e := explain.Errorf(err, "unknown flag %s", short)
		var guess []string
		for _, f := range visible {
			if strings.HasPrefix(f.Name, short[1:]) {
				guess = append(guess, "--"+f.Name)
			}
		}
		if len(guess) > 0 && len(typed) == 2 {
			e.Hint("did you mean " + orList(guess) + "?")
		}
		return e
	}
	if users := commandsWith(app, long); len(users) > 0 {
		e := explain.Errorf(err, "%s takes no %s", where, typed).
			Hint(fmt.Sprintf("%s is a flag of %s", typed, strings.Join(users, ", ")))
		if tokenOnly(n) {
			// The token flags: those the credential process shares.
			var names []string
			for _, f := range n.Flags {
				if !f.Hidden && hasFlag(ProcessNode(app).Flags, f.Name) {
					names = append(names, "--"+f.Name)
				}
			}
			e.Hint(where + " only fetches a token, so it takes only the token flags: " + strings.Join(names, ", "))
		}
		return e
	}
	e := explain.Errorf(err, "unknown flag %s", typed)
	var names []string
	for _, f := range visible {
		names = append(names, f.Name)
	}
	if best := cred.Nearest(long, names, 3); best != "" {
		e.Hint("did you mean --" + best + "?")
	}
	return e
}

func hasFlag(flags []*kong.Flag, name string) bool {
	return slices.ContainsFunc(flags, func(f *kong.Flag) bool { return f.Name == name })
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// valueError is a flag value that does not parse, from decodeDuration.
type valueError struct {
	flag          *kong.Flag
	value, reason string
}

func (e *valueError) Error() string { return e.reason }

// badVariable finds a variable that sets a flag of the command read to a
// value the flag refuses, by decoding it as kong does (kong's own error has
// lost the mapper's type). A flag on the command line wins over its
// variable.
func badVariable(r *reading) *explain.Error {
	for _, f := range r.node().Flags {
		// A flag left without its value is given too: that is the
		// mistake to report.
		if _, given := r.typed[f.Name]; given || f == r.pending {
			continue
		}
		for _, env := range f.Envs {
			v, ok := os.LookupEnv(env)
			if !ok {
				continue
			}
			scan := kong.ScanFromTokens(kong.Token{Type: kong.FlagValueToken, Value: v})
			err := f.Mapper.Decode(&kong.DecodeContext{Value: f.Value, Scan: scan}, reflect.New(f.Target.Type()).Elem())
			switch ve, ok := errors.AsType[*valueError](err); {
			case ok:
				return explain.Errorf(err, "%s=%q %s", env, v, ve.reason).Hint(flagHint(f)...).Hint("an empty variable counts as unset")
			case err != nil:
				return explain.Errorf(err, "%s=%q: %v", env, v, err).Hint(flagHint(f)...).Hint("an empty variable counts as unset")
			}
			break // kong reads the first variable set
		}
	}
	return nil
}

// flagHint shows how a flag is written and what it is for, from its own
// help, so hints never drift from the flags.
func flagHint(f *kong.Flag) []string {
	form := "--" + f.Name
	switch {
	case f.Enum != "":
		form += " " + strings.ReplaceAll(f.Enum, ",", "|")
	case !f.IsBool():
		form += " " + f.FormatPlaceHolder()
	}
	return []string{form + ": " + strings.TrimSuffix(f.Help, ".")}
}

// commandName names a command node for messages.
func commandName(n *kong.Node) string {
	if n == nil || n.Type != kong.CommandNode || n.Name == ProcessName {
		return "the credential process"
	}
	return n.Name
}

// commandsWith lists the commands that take the flag --name, for a flag
// given to one that does not.
func commandsWith(app *kong.Application, name string) []string {
	var out []string
	for _, c := range app.Children {
		if c.Type == kong.CommandNode && (!c.Hidden || c.Name == ProcessName) && hasFlag(c.Flags, name) {
			out = append(out, commandName(c))
		}
	}
	return out
}

// tokenOnly reports whether a command takes only the token flags: none of
// the credential process's exchange flags.
func tokenOnly(n *kong.Node) bool {
	return n != nil && n.Name != ProcessName && !hasFlag(n.Flags, "role") && hasFlag(n.Flags, "audience")
}

// closest is the command word nearest to s, if one is near enough to be
// what was meant: a prefix of it, or at most two edits away.
func closest(s string, cmds []*kong.Node) string {
	var names []string
	for _, c := range cmds {
		if strings.HasPrefix(c.Name, s) && len(s) >= 2 {
			return c.Name
		}
		names = append(names, c.Name)
	}
	return cred.Nearest(s, names, 3)
}

// emptyImpersonate refuses an empty --impersonate on the command line: a
// script whose variable is unset would otherwise run as the metadata
// server's account without a word. An empty GCP_AWS_CRED_IMPERSONATE
// counts as unset, as every empty variable does (unsetEmptyEnv).
func emptyImpersonate(r *reading) *explain.Error {
	if v, ok := r.typed["impersonate"]; !ok || v != "" {
		return nil
	}
	return explain.Errorf(nil, "--impersonate is empty").
		Hint("it names the service account to impersonate; an unset shell variable expands to nothing").
		Hint("to use the metadata server's own account, leave --impersonate out")
}
