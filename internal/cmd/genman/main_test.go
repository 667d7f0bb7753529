package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cli"
)

func page(t *testing.T) []byte {
	t.Helper()
	var c cli.CLI
	return Page(cli.NewParser(&c, io.Discard, io.Discard).Model, "v1.2.3", "2026-12-01T10:00:00Z")
}

// render typesets the page with groff, as man does, failing on any warning.
func render(t *testing.T, src []byte) string {
	t.Helper()
	groff, err := exec.LookPath("groff")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("groff is not installed (CI=true: a missing tool is a failure, not a skip)")
		}
		t.Skip("groff is not installed: the man page is not rendered")
	}
	// Every warning enabled (-ww); a wide line so each flag is whole.
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-rLL=200n", "-P-c")
	cmd.Stdin = bytes.NewReader(src)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("groff -man -ww: %v\n%s", err, stderr.String())
	}
	// Overstrike bold and underline, then the minus and hyphen glyphs a
	// UTF-8 device may use for "-".
	text := regexp.MustCompile(".\b").ReplaceAllString(stdout.String(), "")
	return strings.NewReplacer("\u2212", "-", "\u2010", "-").Replace(text)
}

// TestManPageHasEveryFlag renders the page and looks in it for every flag
// that --help shows, of every command.
func TestManPageHasEveryFlag(t *testing.T) {
	text := render(t, page(t))
	flagRE := regexp.MustCompile(`(?m)(?:^|\s)(-[a-z]|--[a-z][a-z0-9-]+)\b`)
	helps := [][]string{{"--help"}}
	var c cli.CLI
	for _, n := range cli.NewParser(&c, io.Discard, io.Discard).Model.Children {
		if !n.Hidden {
			helps = append(helps, []string{n.Name, "--help"})
		}
	}
	for _, args := range helps {
		// The help as the binary prints it, from the same parser; kong exits
		// after help, which here only stops the parse.
		var stdout bytes.Buffer
		var c cli.CLI
		p := cli.NewParser(&c, &stdout, io.Discard)
		p.Exit = func(int) {}
		_, _ = p.Parse(args)
		flagsPart := stdout.String()
		if i := strings.Index(flagsPart, "\nFlags:\n"); i >= 0 {
			flagsPart = flagsPart[i:]
		} else {
			t.Fatalf("%q shows no Flags section:\n%s", args, stdout.String())
		}
		found := 0
		for _, line := range strings.Split(flagsPart, "\n") {
			// A flag's own line starts with it; its help may name others.
			if !strings.HasPrefix(strings.TrimSpace(line), "-") {
				continue
			}
			for _, m := range flagRE.FindAllStringSubmatch(strings.SplitN(strings.TrimSpace(line), "  ", 2)[0], -1) {
				found++
				if !strings.Contains(text, m[1]) {
					t.Errorf("%s %q shows %s; the man page does not", cli.Name, args, m[1])
				}
			}
		}
		if found < 2 {
			t.Errorf("%q: found %d flags in its help, want at least --help and --version:\n%s", args, found, flagsPart)
		}
	}
	for _, want := range []string{
		"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "ENVIRONMENT", "EXIT STATUS", "FILES", "EXAMPLES",
		"gcp-aws-cred doctor", "gcp-aws-cred serve", "gcp-aws-cred completion",
		"GCP_AWS_CRED_ROLE", "GCE_METADATA_HOST", "AWS_REGION", "75", "writes no file",
		"gcp-aws-cred 1.2.3", "2026-12-01",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the man page lacks %q", want)
		}
	}
}

// TestManPageGzip checks the .gz the packages install: it decompresses to
// the page, and the same inputs give the same bytes.
func TestManPageGzip(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.1.gz"), filepath.Join(dir, "b.1.gz")
	for _, out := range []string{a, b} {
		if err := write(out, "1.2.3", "2026-12-01"); err != nil {
			t.Fatal(err)
		}
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Error("two runs wrote different bytes")
	}
	z, err := gzip.NewReader(bytes.NewReader(ab))
	if err != nil {
		t.Fatal(err)
	}
	src, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	if z.Name != "" || !z.ModTime.IsZero() {
		t.Errorf("the gzip header holds a name %q or a time %v", z.Name, z.ModTime)
	}
	if !bytes.HasPrefix(src, []byte(`.TH "GCP\-AWS\-CRED" 1 "2026\-12\-01" "gcp\-aws\-cred 1.2.3"`)) {
		t.Errorf("the page starts %q", src[:min(len(src), 80)])
	}
	if man, err := exec.LookPath("man"); err == nil {
		out, err := exec.Command(man, "-l", a).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "EXIT STATUS") {
			t.Errorf("man -l %s: %v\n%s", a, err, out)
		}
	}
}

// TestEscape keeps text from becoming roff requests or escapes.
func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		`--role`:      `\-\-role`,
		`C:\path`:     `C:\epath`,
		`.hidden`:     `\&.hidden`,
		`'quoted`:     `\&'quoted`,
		`plain text`:  `plain text`,
		`a.b 'c' \fB`: `a.b 'c' \efB`,
	} {
		if got := esc(in); got != want {
			t.Errorf("esc(%q) = %q, want %q", in, got, want)
		}
	}
}
