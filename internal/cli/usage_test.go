package cli

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"
)

func TestClosestCommand(t *testing.T) {
	var cli CLI
	cmds := Commands(newParser(&cli, "v", io.Discard, io.Discard).Model)
	for in, want := range map[string]string{
		"docter": "doctor", "dcotor": "doctor", "exce": "exec", "tokn": "token", "trust": "trust-policy",
		"trustpolicy": "trust-policy", "tok": "token", "gt": "", "x": "", "frobnicate": "", "d": "",
	} {
		if got := closest(in, cmds); got != want {
			t.Errorf("closest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"3600": time.Hour, "5400": 90 * time.Minute, "0": 0, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute,
		"5400s": 90 * time.Minute, "1.5h": 90 * time.Minute,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"soon", "", "1 h", "9223372037", "3600 s", "1e3"} {
		if got, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, got)
		}
	}
}

// TestPlainParserAgrees: a command line that starts with a flag is parsed
// with the credential process's model alone, which must read it exactly as
// the whole command line's model does.
func TestPlainParserAgrees(t *testing.T) {
	t.Setenv("GCP_AWS_CRED_DURATION", "")
	t.Setenv("AWS_USE_FIPS_ENDPOINT", "")
	for _, args := range [][]string{
		{},
		{"--role", "arn:aws:iam::123456789012:role/r"},
		{"--role=arn:aws:iam::123456789012:role/r", "-o", "env", "--duration", "5400", "--region", "eu-west-1"},
		{"--role", "arn:aws:iam::123456789012:role/r", "--policy-arn", "arn:aws:iam::aws:policy/A", "--policy-arn", "arn:aws:iam::aws:policy/B",
			"--fips", "--sts-endpoint", "https://x", "--ca-bundle", "/c.pem", "--session-name", "s1", "--audience", "a", "--service-account", "default",
			"--timeout", "10", "--policy", `{"Version":"2012-10-17"}`, "-oenv"},
	} {
		if !plainRun(args) {
			t.Errorf("%q: not a plain run", args)
			continue
		}
		// As run parses, empty variables unset.
		parse := func(cli any) (*kong.Context, error) {
			p := newParser(cli, "v", io.Discard, io.Discard)
			unsetEmptyEnv(p.Model)
			return p.Parse(args)
		}
		var full CLI
		var plain processCLI
		fctx, ferr := parse(&full)
		pctx, perr := parse(&plain)
		if ferr != nil || perr != nil {
			t.Errorf("%q: full %v, plain %v", args, ferr, perr)
			continue
		}
		if fctx.Selected().Name != ProcessName || pctx.Selected().Name != ProcessName {
			t.Errorf("%q: selected %q and %q", args, fctx.Selected().Name, pctx.Selected().Name)
		}
		if diff := cmp.Diff(full.Process, plain.Process); diff != "" {
			t.Errorf("%q: the models disagree (-full +plain):\n%s", args, diff)
		}
	}
	for _, args := range [][]string{{"doctor"}, {"--role", "r", "--help"}, {"-h"}, {"get", "--role", "r"}} {
		if plainRun(args) {
			t.Errorf("%q: a plain run", args)
		}
	}
}

// BenchmarkParsePlain is what the credential process's own model
// (processCLI) saves a plain run: building the parser and parsing a
// credential_process line, with that model and with the whole command
// line's.
func BenchmarkParsePlain(b *testing.B) {
	args := []string{"--role", "arn:aws:iam::123456789012:role/r", "--region", "eu-west-1"}
	for _, m := range []struct {
		name string
		cli  func() any
	}{{"process", func() any { return &processCLI{} }}, {"full", func() any { return &CLI{} }}} {
		b.Run(m.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := newParser(m.cli(), "v", io.Discard, io.Discard).Parse(args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestOddWords: the reading of the words (parse errors, completion) takes
// any words without a panic, whatever kong made of them.
func TestOddWords(t *testing.T) {
	var cli CLI
	app := newParser(&cli, "v", io.Discard, io.Discard).Model
	words := []string{"", "-", "--", "-=", "--=", "-=x", "=", ":", "-o", "-oenv", "--role", "--role=", "-role", "--ROLE", "x", "help", "exec", "serve", "completion", "__complete", "-v", "--help", "--output=", "é", "-é"}
	for _, a := range words {
		for _, b := range words {
			for _, shell := range []string{"bash", "zsh", "fish"} {
				complete(app, shell, []string{a, b})
			}
			r := newReading(app, errors.New("kong's error"))
			if e := usageError(r.cause, r, r.read([]string{a, b})); e == nil || e.Error() == "" {
				t.Errorf("%q %q: no explanation", a, b)
			}
		}
	}
}

// TestVersionAnswers: a lone --version is answered before any model is
// built; it must print what kong prints for --version among other words.
// kong exits the process, so each runs this test binary as the command.
func TestVersionAnswers(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--version"}, {"--role", "arn:aws:iam::123456789012:role/r", "--version"}, {"doctor", "--version"}} {
		cmd := exec.Command(self, args...)
		cmd.Args[0] = Name // TestMain runs the command line under this name
		out, err := cmd.Output()
		if err != nil || string(out) != "test\n" {
			t.Errorf("%q: %v, printed %q, want %q", args, err, out, "test\n")
		}
	}
}

// TestDanglingFlagBeatsItsVariable: a flag at the end without its value is
// the mistake reported, even when its variable holds a bad value too: the
// flag on the command line wins over its variable.
func TestDanglingFlagBeatsItsVariable(t *testing.T) {
	t.Setenv("GCP_AWS_CRED_DURATION", "bogus")
	var stderr strings.Builder
	code := Run([]string{"--role", "arn:aws:iam::123456789012:role/r", "--duration"}, io.Discard, &stderr, func() string { return "v" })
	if want := "gcp-aws-cred: error: --duration needs a value\n"; code != 2 || !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and a first line %q", code, stderr.String(), want)
	}
}

// TestProcessWordKeepsTypedValues: the agent runs its child as "get" and
// the caller's words; a message quotes a duration as the caller typed it
// there too, and the deadline hint does not call a --timeout given the
// default.
func TestProcessWordKeepsTypedValues(t *testing.T) {
	t.Setenv("GCP_AWS_CRED_DURATION", "")
	for _, args := range [][]string{
		{"get", "--role", "arn:aws:iam::123456789012:role/r", "--duration", "90"},
		{"--role", "arn:aws:iam::123456789012:role/r", "--duration", "90"},
	} {
		var stderr strings.Builder
		code := Run(args, io.Discard, &stderr, func() string { return "v" })
		if want := "gcp-aws-cred: error: --duration 90 is out of range"; code != 1 || !strings.HasPrefix(stderr.String(), want) {
			t.Errorf("%q: exit %d, stderr:\n%s\nwant exit 1 and %q", args, code, stderr.String(), want)
		}
	}
}
