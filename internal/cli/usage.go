package cli

import (
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
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
)

// This file is the command line's help, which leads with the credential
// process and shows every default, and its durations in seconds.

// ProcessName is the hidden name of the credential process's command.
const ProcessName = "get"

// printHelp is kong's help, except at the top: with no command word
// gcp-aws-cred is the credential process, so the top-level help leads with
// that form and its flags, then lists the commands.
func printHelp(opts kong.HelpOptions, ctx *kong.Context) error {
	if sel := ctx.Selected(); sel != nil && sel.Name != ProcessName {
		return kong.DefaultHelpPrinter(opts, ctx)
	}
	pctx, err := kong.Trace(ctx.Kong, []string{ProcessName})
	if err != nil {
		return err
	}
	fmt.Fprintf(ctx.Stdout, "Usage: %s --role ARN [flags]\n   or: %s <command> [flags]\n", Name, Name)
	opts.NoAppSummary = true
	if err := kong.DefaultHelpPrinter(opts, pctx); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("\nCommands:\n")
	cmds := Commands(ctx.Model)
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.Name))
	}
	for _, c := range cmds {
		b.WriteString(explain.Indent(fmt.Sprintf("  %-*s  ", width, c.Name), strings.Repeat(" ", width+4), wrap(c.Help, 76-width)))
	}
	fmt.Fprintf(&b, "\nRun \"%s <command> --help\" for more information on a command.\n", Name)
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

// Commands are the command words a user can type, in the model's order:
// for the man page as for the help.
func Commands(app *kong.Application) []*kong.Node {
	var out []*kong.Node
	for _, c := range app.Children {
		if c.Type == kong.CommandNode && !c.Hidden {
			out = append(out, c)
		}
	}
	return out
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
		return &valueError{flag: ctx.Value.Flag, value: s, reason: "is not a duration"}
	}
	target.SetInt(int64(d))
	return nil
}

// typedDurations is how each duration flag of the selected command was
// given, for explain.Given.As: the flag and its text as typed when it is
// on the command line (the last one wins, as in kong; a command's own
// arguments, exec aws --timeout …, are not read), else the variable it
// came from. A default is left out: its own form is how the help shows it.
func typedDurations(kctx *kong.Context, r *reading) map[string]string {
	out := map[string]string{}
	for _, f := range kctx.Flags() {
		if f.Target.Type() != reflect.TypeFor[time.Duration]() {
			continue
		}
		if v, ok := r.typed[f.Name]; ok {
			out[f.Name] = "--" + f.Name + " " + v
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

// helpValue is a flag's help as --help shows it: kong's, with the default
// where kong shows none (a placeholder takes its place in the flag's
// column), so every default is in the help.
func helpValue(v *kong.Value) string {
	if v.Flag == nil || v.Flag.PlaceHolder == "" || !v.HasDefault || v.Default == "" || v.IsBool() {
		return kong.DefaultHelpValueFormatter(v)
	}
	def := v.Default
	if v.Target.Kind() == reflect.String {
		def = strconv.Quote(def) // as kong shows --audience="sts.amazonaws.com"
	}
	notes := []string{"default " + def}
	for _, env := range v.Tag.Envs {
		notes = append(notes, "$"+env)
	}
	return strings.TrimSuffix(v.Help, ".") + " (" + strings.Join(notes, ", ") + ")."
}

// ExitStatuses are the statuses a run of gcp-aws-cred exits with, for the
// man page; exec's and serve's own are described there.
var ExitStatuses = []struct {
	Code    int
	Meaning string
}{
	{0, "Credentials printed (doctor: the chain works; serve --check: the server holds credentials)."},
	{cred.ExitFailure, "A failure that needs a fix: configuration, trust policy, network, a peer's answer. The hint: lines say what to do."},
	{cred.ExitUsage, "The command line could not be parsed: an unknown command or flag, a missing value, a value of the wrong type."},
	{cred.ExitThrottled, "STS was still throttling after the retries (EX_TEMPFAIL): try again later."},
}
