package main

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

// TestDoctorJSONSchema holds `doctor --json` to the schema that
// docs/troubleshooting.md documents, which scripts and monitoring rely on:
// the same step names in the same order, the documented keys on every step,
// and for each step exactly the fact keys of the page's table, between a
// working chain and a failure that adds the optional one.
func TestDoctorJSONSchema(t *testing.T) {
	documented := documentedFacts(t)
	srv, err := fakes.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.STS.Roles = map[string]fakes.Role{
		"arn:aws:iam::123456789012:role/r":     {MaxSessionDuration: 12 * time.Hour},
		"arn:aws:iam::123456789012:role/short": {MaxSessionDuration: 2 * time.Hour},
		"arn:aws:iam::123456789012:role/next":  {MaxSessionDuration: time.Hour, AssumedBy: []string{"arn:aws:iam::123456789012:role/r"}},
	}
	t.Setenv("GCE_METADATA_HOST", srv.MetadataHost)
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.STSURL)
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:9")

	seen := map[string]map[string]bool{}
	for _, tc := range []struct {
		args   []string
		status int
	}{
		{[]string{"doctor", "--json", "--role", "arn:aws:iam::123456789012:role/r"}, 0},
		{[]string{"doctor", "--json", "--role", "arn:aws:iam::123456789012:role/short", "--duration", "12h"}, 1},
		{[]string{"doctor", "--json", "--role", "arn:aws:iam::123456789012:role/r", "--chain-role", "arn:aws:iam::123456789012:role/next"}, 0},
	} {
		var stdout, stderr bytes.Buffer
		if got := run(tc.args, &stdout, &stderr); got != tc.status {
			t.Fatalf("%v: exit %d, want %d; stderr:\n%s", tc.args, got, tc.status, stderr.String())
		}
		var report map[string]json.RawMessage
		if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, stdout.String())
		}
		if keys := sortedKeys(report); !slices.Equal(keys, []string{"ok", "steps"}) {
			t.Errorf("%v: top-level keys %v, want [ok steps]", tc.args, keys)
		}
		var steps []map[string]json.RawMessage
		if err := json.Unmarshal(report["steps"], &steps); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, step := range steps {
			var name string
			var facts map[string]string
			_ = json.Unmarshal(step["name"], &name)
			if err := json.Unmarshal(step["facts"], &facts); err != nil {
				t.Errorf("%v: step %s: facts are not an object of strings: %v", tc.args, name, err)
			}
			names = append(names, name)
			for k := range step {
				if !slices.Contains([]string{"name", "status", "facts", "warnings", "error", "hints"}, k) {
					t.Errorf("%v: step %s has the undocumented key %q", tc.args, name, k)
				}
			}
			if seen[name] == nil {
				seen[name] = map[string]bool{}
			}
			for k := range facts {
				seen[name][k] = true
				if !documented[name][k] {
					t.Errorf("%v: step %s has the fact %q, which docs/troubleshooting.md does not document", tc.args, name, k)
				}
			}
		}
		if want := sortedKeys(documented); !slices.Equal(sortStrings(slices.Clone(names)), want) {
			t.Errorf("%v: steps %v, docs/troubleshooting.md documents %v", tc.args, names, want)
		}
	}
	for name, keys := range documented {
		for k := range keys {
			if !seen[name][k] {
				t.Errorf("docs/troubleshooting.md documents the fact %q of step %s, which doctor never printed", k, name)
			}
		}
	}
}

// doctorFactsPage is where the table of doctor's fact keys lives.
const doctorFactsPage = "docs/troubleshooting.md"

// documentedFacts reads the table of doctor's fact keys: per step, the
// names in backquotes in the second column, up to the first parenthesis of
// each item (which holds example values, not keys).
func documentedFacts(t *testing.T) map[string]map[string]bool {
	b, err := os.ReadFile(doctorFactsPage)
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "<!-- doctor-json-facts:")
	if !ok {
		t.Fatalf("%s has no doctor-json-facts table", doctorFactsPage)
	}
	out := map[string]map[string]bool{}
	for _, line := range strings.Split(table, "\n")[1:] {
		if !strings.HasPrefix(line, "| `") {
			if len(out) > 0 {
				break
			}
			continue
		}
		cells := strings.Split(line, " | ")
		if len(cells) != 2 {
			t.Fatalf("%s: table row %q has %d columns", doctorFactsPage, line, len(cells))
		}
		step := strings.Trim(cells[0], "| `")
		out[step] = map[string]bool{}
		// Keys are the quoted parts: every other piece between backquotes.
		parts := strings.Split(stripParens(cells[1]), "`")
		for i := 1; i < len(parts); i += 2 {
			out[step][parts[i]] = true
		}
	}
	if len(out) != 6 {
		t.Fatalf("%s: the table documents %d steps: %v", doctorFactsPage, len(out), out)
	}
	return out
}

// stripParens removes parenthesised text, nesting included.
func stripParens(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return sortStrings(keys)
}
