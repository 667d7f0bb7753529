package main

import (
	"io"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"
)

// TestPlainParserHasEveryFlag guards the start-up shortcut in run: a plain
// credential-process command line is parsed with processCLI instead of the
// full CLI, so the two must accept the same flags with the same defaults
// and environment variables.
func TestPlainParserHasEveryFlag(t *testing.T) {
	flags := func(model any) map[string]string {
		p, err := kong.New(model, kong.Vars{"version": "v"}, kong.Writers(io.Discard, io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, f := range p.Model.Flags {
			got[f.Name] = f.Default + "|" + f.Help + "|"
			for _, env := range f.Tag.Envs {
				got[f.Name] += "," + env
			}
		}
		return got
	}
	full := flags(&CLI{})
	if len(full) < 15 {
		t.Fatalf("only %d flags found: %v", len(full), full)
	}
	if diff := cmp.Diff(full, flags(&processCLI{})); diff != "" {
		t.Errorf("flags differ (-full +plain):\n%s", diff)
	}
}

func TestPlainRun(t *testing.T) {
	for args, want := range map[string]bool{
		"--role arn":                    true,
		"--version":                     true,
		"--output env --role arn":       true,
		"doctor --role arn":             false,
		"--role arn exec -- aws s3 ls":  false,
		"trust-policy":                  false,
		"--help":                        false,
		"-h":                            false,
		"--session-name token --role x": false, // a value equal to a command: full parser, same result
	} {
		if got := plainRun(strings.Fields(args)); got != want {
			t.Errorf("plainRun(%q) = %v, want %v", args, got, want)
		}
	}
}
