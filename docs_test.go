package main

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cli"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// docCommandStart finds where a gcp-aws-cred command begins in a line of a
// shell or ini block: at the start of the line, after an operator or $( of
// a shell, or as a credential_process value, with any VAR=value
// assignments before the name.
var docCommandStart = regexp.MustCompile(`(?:^|\$\(|&&|\|\||;|\(|credential_process\s*=)\s*(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*gcp-aws-cred(?:\s+|$)`)

// docCommand is one command line of the documentation.
type docCommand struct {
	where string // file:line
	args  []string
}

// TestDocCommands runs every gcp-aws-cred command line in the README and
// in docs/ through the real parser and the checks each command makes
// before any network call, so a renamed flag, a refused value or a command
// that no longer exists cannot survive in the documentation. Placeholders
// are the documentation's own words: PORT stands for a port the reader's
// sandbox picked.
func TestDocCommands(t *testing.T) {
	for _, env := range []string{"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "GCE_METADATA_HOST", "AWS_USE_FIPS_ENDPOINT", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"} {
		t.Setenv(env, "") // restored after the test
		os.Unsetenv(env)
	}
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{"README.md"}, pages...)
	var cmds []docCommand
	for _, page := range pages {
		cmds = append(cmds, docCommands(t, page)...)
	}
	// The README's steps, the sandbox, serve, configuration and the
	// commands page hold well over this many; fewer means the extraction
	// broke, not that the docs were checked.
	if len(cmds) < 25 {
		t.Fatalf("found only %d gcp-aws-cred command lines in %v", len(cmds), pages)
	}
	for _, c := range cmds {
		if err := docCommandError(c); err != nil {
			t.Errorf("%s: gcp-aws-cred %s: %v", c.where, strings.Join(c.args, " "), err)
		}
	}
	t.Logf("checked %d command lines in %d pages", len(cmds), len(pages))
}

// docCommandError parses one command line as a pasted line is parsed
// (cli.Parse: help COMMAND, empty variables unset, the checks before the
// parser returns) and makes the checks its command makes before the
// network.
func docCommandError(c docCommand) error {
	parsed, kctx, err := cli.Parse(c.args)
	if err != nil || kctx == nil {
		return err // nil for help or --version: kong prints and exits
	}
	var check func() error
	var cfg func() sts.Config
	switch name := kctx.Selected().Name; name {
	case cli.ProcessName:
		check, cfg = parsed.Process.Check, parsed.Process.STSConfig
	case "doctor":
		if parsed.Doctor.Role != "" {
			check, cfg = parsed.Doctor.Check, parsed.Doctor.STSConfig
		}
	case "exec":
		check, cfg = parsed.Exec.Check, parsed.Exec.STSConfig
		if len(parsed.Exec.Command) == 0 {
			return errors.New("exec without a command")
		}
	case "console":
		check, cfg = parsed.Console.Check, parsed.Console.STSConfig
	case "serve":
		if !parsed.Serve.CheckHealth {
			check, cfg = parsed.Serve.Check, parsed.Serve.STSConfig
		}
	}
	if check == nil {
		return nil
	}
	// Worded as a run would print them (explain.Given.Explain).
	if err := check(); err != nil {
		return (&explain.Given{}).Explain(err)
	}
	_, err = sts.New(cfg())
	return (&explain.Given{}).Explain(err)
}

// docCommands returns the gcp-aws-cred command lines in the sh, console
// and ini blocks of a Markdown page. In console blocks only the lines
// after a "$ " prompt are commands; the rest is output. Lines continued
// with a backslash are joined first.
func docCommands(t *testing.T, page string) []docCommand {
	t.Helper()
	f, err := os.Open(page)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []docCommand
	lang, in := "", false
	pending, pendingLine := "", 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		// Fences may be indented (a block inside a list item or quote).
		if fence, ok := strings.CutPrefix(strings.TrimLeft(trimmed, "> "), "```"); ok {
			in, lang = !in, strings.TrimSpace(fence)
			continue
		}
		if !in || (lang != "sh" && lang != "console" && lang != "ini") {
			continue
		}
		text := strings.TrimLeft(trimmed, "> ")
		if lang == "console" {
			var ok bool
			if text, ok = strings.CutPrefix(text, "$ "); !ok {
				continue
			}
		}
		// A continued line is reported where it starts; the count of
		// lines goes on.
		at := n
		if pending != "" {
			text, at = pending+" "+text, pendingLine
		}
		if cont, ok := strings.CutSuffix(text, `\`); ok {
			pending, pendingLine = cont, at
			continue
		}
		pending = ""
		for _, loc := range docCommandStart.FindAllStringIndex(text, -1) {
			rest := shellWords(text[loc[1]:])
			args, err := shellSplit(strings.ReplaceAll(rest, ":PORT", ":9"))
			if err != nil {
				t.Errorf("%s:%d: %v", page, at, err)
				continue
			}
			out = append(out, docCommand{where: page + ":" + strconv.Itoa(at), args: args})
		}
	}
	return out
}

// shellWords cuts a command at the first unquoted shell operator,
// redirection or comment, where the gcp-aws-cred command ends.
func shellWords(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && (i == 0 || s[i-1] == ' '):
			return s[:i]
		case strings.IndexByte("|&;<>)", c) >= 0:
			return s[:i]
		}
	}
	return s
}

// TestDocChecker checks the checker: where it says a line is, and that it
// takes a line as a pasted one is taken.
func TestDocChecker(t *testing.T) {
	page := filepath.Join(t.TempDir(), "page.md")
	md := "# Page\n\n```sh\ngcp-aws-cred doctor \\\n  --role arn:aws:iam::123456789012:role/r\ngcp-aws-cred help serve\n```\n\n```console\n$ gcp-aws-cred token\nnot a command: gcp-aws-cred --rol\n```\n"
	if err := os.WriteFile(page, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range docCommands(t, page) {
		got = append(got, strings.TrimPrefix(c.where, page)+" "+strings.Join(c.args, " "))
	}
	want := []string{":4 doctor --role arn:aws:iam::123456789012:role/r", ":6 help serve", ":10 token"}
	if !slices.Equal(got, want) {
		t.Errorf("docCommands: got %q, want %q", got, want)
	}

	for _, args := range [][]string{{"help", "serve"}, {"help"}, {"--help"}, {"serve", "--help"}, {"--version"}, {"token", "--json"}} {
		if err := docCommandError(docCommand{args: args}); err != nil {
			t.Errorf("%q: %v, want it accepted", args, err)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rol", "x"}, "unknown flag --rol"},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"token", "--impersonate", ""}, "--impersonate is empty"},
		{[]string{"exec", "--role", "arn:aws:iam::123456789012:role/r"}, "exec without a command"},
		{[]string{"--role", "arn:aws:iam::123456789012:role/r", "--duration", "5m"}, "out of range"},
	} {
		if err := docCommandError(docCommand{args: tc.args}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
}
