package cli

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
)

// This file is the command line's own voice: help that leads with the
// credential process, durations in seconds, and kong's parse errors
// rewritten as the tool's errors with hints.

// ProcessName is the hidden name of the default command, the credential
// process.
const ProcessName = "get"

const processName = ProcessName

// printHelp is kong's help, except at the top: with no command word
// gcp-aws-cred is the credential process, so the top-level help leads with
// that form and its flags, then lists the commands.
func printHelp(opts kong.HelpOptions, ctx *kong.Context) error {
	if sel := ctx.Selected(); sel != nil && sel.Name != processName {
		return kong.DefaultHelpPrinter(opts, ctx)
	}
	pctx, err := kong.Trace(ctx.Kong, []string{processName})
	if err != nil {
		return err
	}
	fmt.Fprintf(ctx.Stdout, "Usage: %s --role ARN [flags]\n   or: %s <command> [flags]\n", name, name)
	opts.NoAppSummary = true
	if err := kong.DefaultHelpPrinter(opts, pctx); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("\nCommands:\n")
	cmds := commands(ctx.Model)
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.Name))
	}
	for _, c := range cmds {
		b.WriteString(fail.Indent(fmt.Sprintf("  %-*s  ", width, c.Name), strings.Repeat(" ", width+4), wrap(c.Help, 76-width)))
	}
	fmt.Fprintf(&b, "\nRun \"%s <command> --help\" for more information on a command.\n", name)
	_, err = io.WriteString(ctx.Stdout, b.String())
	return err
}

// wrap breaks text into lines of at most width bytes, at spaces.
func wrap(text string, width int) string {
	var b strings.Builder
	line := 0
	for i, w := range strings.Fields(text) {
		if i > 0 && line+1+len(w) > width {
			b.WriteByte('\n')
			line = 0
		} else if i > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}

// commands are the command words a user can type.
func commands(app *kong.Application) []*kong.Node {
	var out []*kong.Node
	for _, c := range app.Children {
		if c.Type == kong.CommandNode && !c.Hidden {
			out = append(out, c)
		}
	}
	return out
}

// commandName names a command node for messages.
func commandName(n *kong.Node) string {
	if n == nil || n.Type != kong.CommandNode || n.Name == processName {
		return "the credential process"
	}
	return n.Name
}

// decodeDuration reads a duration as Go writes them (90m, 1h30m, 5400s) or
// as a bare number of seconds (5400), which is how STS's DurationSeconds
// and AWS users write them.
func decodeDuration(ctx *kong.DecodeContext, target reflect.Value) error {
	t, err := ctx.Scan.PopValue("duration")
	if err != nil {
		return err
	}
	s := fmt.Sprint(t.Value)
	d, err := parseDuration(s)
	if err != nil {
		return &valueError{value: s, reason: "is not a duration"}
	}
	target.SetInt(int64(d))
	return nil
}

// typedDurations is how each duration flag of the selected command was
// given, for fail.Given.As: the flag and its text as typed when it
// is on the command line (the last one wins, as in kong), else the
// variable it came from. A default is left out: its own form is how the
// help shows it.
func typedDurations(kctx *kong.Context, args []string) map[string]string {
	out := map[string]string{}
	for _, f := range kctx.Flags() {
		if f.Target.Type() != reflect.TypeFor[time.Duration]() {
			continue
		}
		got := time.Duration(f.Target.Int())
		for i, a := range args {
			if a == "--" {
				break
			}
			v, ok := strings.CutPrefix(a, "--"+f.Name+"=")
			if !ok && a == "--"+f.Name && i+1 < len(args) {
				v, ok = args[i+1], true
			}
			// The same words in a command's own arguments (exec aws
			// --timeout …) are not this flag: only text that gives the
			// value in force is.
			if d, err := parseDuration(v); ok && err == nil && d == got {
				out[f.Name] = "--" + f.Name + " " + v
			}
		}
		if _, ok := out[f.Name]; ok {
			continue
		}
		for _, env := range f.Tag.Envs {
			if v := os.Getenv(env); v != "" {
				out[f.Name] = env + "=" + v
				break
			}
		}
	}
	return out
}

// helpArgs turns "help [COMMAND]" into "[COMMAND] --help", the form kong
// knows, so both print the same help.
func helpArgs(args []string) []string {
	if len(args) == 0 || args[0] != "help" {
		return args
	}
	return append(slices.Clone(args[1:]), "--help")
}

func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return 0, strconv.ErrRange
		}
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// valueError is a flag value that does not parse. Its text is only the
// reason, because kong prefixes the flag name, or appends the variable the
// value came from; usageError puts them together.
type valueError struct{ value, reason string }

func (e *valueError) Error() string { return e.reason }

// usageError rewrites a kong parse error in the tool's voice: what is wrong,
// in the user's terms, and a hint with the fix. kong's errors are mostly
// untyped, so this reads their text; anything it does not recognise is
// passed on as it is, with a pointer to --help. args is the command line,
// for the flag as the user typed it.
func usageError(err error, args []string) *fail.Error {
	var pe *kong.ParseError
	var app *kong.Application
	var selected *kong.Node
	if errors.As(err, &pe) && pe.Context != nil {
		app, selected = pe.Context.Model, pe.Context.Selected()
	}
	msg := err.Error()
	help := "run " + name + " --help for usage"
	if selected != nil && selected.Name != processName {
		help = "run " + name + " " + selected.Name + " --help for usage"
	}

	// A value from an environment variable: kong names the flag first and
	// the variable last.
	if i := strings.LastIndex(msg, " (from envar "); i >= 0 && strings.HasSuffix(msg, ")") {
		env, value, _ := strings.Cut(msg[i+len(" (from envar "):len(msg)-1], "=")
		flagName, reason, _ := strings.Cut(msg[:i], ": ")
		text := env + "=" + value + ": " + reason
		if strings.HasPrefix(reason, "is ") {
			text = env + "=" + value + " " + reason
		}
		return fail.Errorf(err, "%s", text).Hint(flagHint(app, flagName, selected)...).Hint("an empty variable counts as unset")
	}

	flagName, rest, hasFlag := strings.Cut(msg, ": ")
	hasFlag = hasFlag && strings.HasPrefix(flagName, "-") && !strings.Contains(flagName, " ")
	var ve *valueError
	switch {
	case hasFlag && errors.As(err, &ve):
		return fail.Errorf(err, "%s %q %s", flagName, ve.value, ve.reason).Hint(flagHint(app, flagName, selected)...)

	case hasFlag && strings.HasPrefix(rest, "expected ") && strings.Contains(rest, " value but got "):
		// A flag at the end of the line, or followed by another flag.
		got := rest[strings.Index(rest, " value but got ")+len(" value but got "):]
		if strings.HasSuffix(got, "(<EOL>)") {
			return fail.Errorf(err, "%s needs a value", flagName).Hint(flagHint(app, flagName, selected)...)
		}
		next, _, _ := strings.Cut(got, " (")
		next, _ = strconv.Unquote(next)
		return fail.Errorf(err, "%s needs a value, but %s follows it", flagName, next).
			Hint(flagHint(app, flagName, selected)...).
			Hint(fmt.Sprintf("a value that starts with a dash goes after an equals sign: %s=%s", flagName, next))

	case strings.HasPrefix(msg, "-") && strings.Contains(msg, " must be one of ") && strings.Contains(msg, " but got "):
		// kong's enum: --log-format must be one of "plain","json" but got "xml"
		flag, choices, _ := strings.Cut(msg, " must be one of ")
		choices, got, _ := strings.Cut(choices, " but got ")
		got, _ = strconv.Unquote(got)
		return fail.Errorf(err, "%s %q is not one of %s", flag, got, strings.ReplaceAll(strings.ReplaceAll(choices, `"`, ""), ",", ", ")).
			Hint(flagHint(app, flag, selected)...)

	case strings.HasPrefix(msg, "unknown flag "):
		flag, suggestion, _ := strings.Cut(strings.TrimPrefix(msg, "unknown flag "), ", did you mean ")
		where := commandName(selected)
		if long, typed := longFlagTyped(app, selected, flag, args); long != nil {
			// -role, read as -r and "ole", or --ROLE: the flag is there,
			// written another way.
			why := "long flags take two dashes"
			if strings.HasPrefix(typed, "--") {
				why = "flags are lower case"
			}
			return fail.Errorf(err, "unknown flag %s", typed).
				Hint(fmt.Sprintf("did you mean --%s? %s", long.Name, why)).Hint(help)
		}
		e := fail.Errorf(err, "unknown flag %s", flag)
		if users := commandsWith(app, flag); len(users) > 0 {
			e = fail.Errorf(err, "%s takes no %s", where, flag).
				Hint(fmt.Sprintf("%s is a flag of %s", flag, strings.Join(users, ", ")))
			if tokenOnly(selected) {
				e.Hint(where + " only fetches a token, so it takes only the token flags: --audience, --service-account, --impersonate, --iam-credentials-endpoint, --timeout, --verbose")
			}
			return e.Hint(help)
		}
		if suggestion != "" {
			s, _ := strconv.Unquote(strings.TrimSuffix(suggestion, "?"))
			if s == "" {
				s = strings.TrimSuffix(suggestion, "?")
			}
			e.Hint("did you mean " + s + "?")
		}
		return e.Hint(help)

	case strings.HasPrefix(msg, "unexpected argument "):
		arg := strings.TrimPrefix(msg, "unexpected argument ")
		arg, _, _ = strings.Cut(arg, ", did you mean ")
		if selected != nil && selected.Name != processName {
			return fail.Errorf(err, "%s takes no argument %q", selected.Name, arg).Hint(help)
		}
		e := fail.Errorf(err, "unknown command %q", arg)
		if s := closest(arg, commands(app)); s != "" {
			e.Hint("did you mean " + s + "?")
		} else if arg == "help" {
			e.Hint("for help: " + name + " --help, or " + name + " COMMAND --help")
		}
		var names []string
		for _, c := range commands(app) {
			names = append(names, c.Name)
		}
		return e.Hint(fmt.Sprintf("the commands are %s; with none, %s is the credential process, which takes no argument", strings.Join(names, ", "), name))

	case strings.HasPrefix(msg, "flag ") && strings.Contains(msg, " applies to the default command "):
		// kong: flag --role applies to the default command "get", not "doctor"
		flag, _, _ := strings.Cut(strings.TrimPrefix(msg, "flag "), " ")
		cmd, _ := strconv.Unquote(msg[strings.LastIndex(msg, " ")+1:])
		return fail.Errorf(err, "%s comes before the command word %s", flag, cmd).
			Hint(fmt.Sprintf("put the command word first: %s %s %s …", name, cmd, flag))
	}
	return fail.Errorf(err, "%s", msg).Hint(help)
}

// longFlagTyped finds, for kong's "unknown flag" (which names only -r of
// -role), the argument the user typed and the long flag it meant: a single
// dash before a long name (-role, -role=ARN), or a long name in the wrong
// case (--ROLE).
func longFlagTyped(app *kong.Application, selected *kong.Node, flag string, args []string) (*kong.Flag, string) {
	for _, a := range args {
		if a == "--" {
			break
		}
		typed, _, _ := strings.Cut(a, "=")
		var want string
		switch {
		case strings.HasPrefix(flag, "--") && typed == flag && typed != strings.ToLower(typed):
			want = strings.ToLower(strings.TrimPrefix(flag, "--"))
		case !strings.HasPrefix(flag, "--") && !strings.HasPrefix(typed, "--") && len(typed) > 2 && strings.HasPrefix(typed, flag):
			want = strings.ToLower(typed[1:])
		default:
			continue
		}
		// Only a flag of this command: one of another is commandsWith's.
		if selected == nil {
			selected = appNode(app)
		}
		if f := findFlag(nil, selected, want); f != nil && !f.Hidden {
			return f, typed
		}
	}
	return nil, ""
}

// flagHint shows how a flag is written and what it is for, from its own
// help, so hints never drift from the flags.
func flagHint(app *kong.Application, flagName string, selected *kong.Node) []string {
	f := findFlag(app, selected, strings.TrimLeft(flagName, "-"))
	if f == nil {
		return nil
	}
	form := "--" + f.Name
	switch {
	case f.Enum != "":
		form += " " + strings.ReplaceAll(f.Enum, ",", "|")
	case !f.IsBool():
		form += " " + f.FormatPlaceHolder()
	}
	return []string{form + ": " + strings.TrimSuffix(f.Help, ".")}
}

// findFlag finds a flag by name, in the selected command first.
func findFlag(app *kong.Application, selected *kong.Node, flagName string) *kong.Flag {
	var found *kong.Flag
	for _, n := range []*kong.Node{selected, appNode(app)} {
		if n == nil || found != nil {
			continue
		}
		_ = kong.Visit(n, func(v kong.Visitable, next kong.Next) error {
			if f, ok := v.(*kong.Flag); ok && f.Name == flagName && found == nil {
				found = f
			}
			return next(nil)
		})
	}
	return found
}

func appNode(app *kong.Application) *kong.Node {
	if app == nil {
		return nil
	}
	return app.Node
}

// commandsWith lists the commands that take flag, for a flag given to one
// that does not.
func commandsWith(app *kong.Application, flag string) []string {
	if app == nil || !strings.HasPrefix(flag, "--") {
		return nil
	}
	var out []string
	for _, c := range app.Children {
		for _, f := range c.Flags {
			if "--"+f.Name == flag {
				out = append(out, commandName(c))
				break
			}
		}
	}
	return out
}

// tokenOnly reports whether a command takes only the token flags.
func tokenOnly(n *kong.Node) bool {
	return n != nil && (n.Name == "trust-policy" || n.Name == "token")
}

// closest is the command word nearest to s, if one is near enough to be
// what was meant: a prefix of it, or at most two edits away.
func closest(s string, cmds []*kong.Node) string {
	best, bestDist := "", 3
	for _, c := range cmds {
		d := cred.EditDistance(s, c.Name)
		if strings.HasPrefix(c.Name, s) && len(s) >= 2 {
			d = 0
		}
		if d < bestDist {
			best, bestDist = c.Name, d
		}
	}
	return best
}
