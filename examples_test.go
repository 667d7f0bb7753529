package main

import (
	"bufio"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// TestExampleConfig parses every credential_process line of
// examples/aws-config the way botocore does (shell-like splitting) and checks
// the flags are valid and the endpoint resolves, so the examples cannot rot.
func TestExampleConfig(t *testing.T) {
	f, err := os.Open("examples/aws-config")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t.Setenv("AWS_ENDPOINT_URL_STS", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_CA_BUNDLE", "")
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "credential_process = ")
		if !ok {
			continue
		}
		n++
		args, err := shellSplit(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if args[0] != "gcp-aws-cred" {
			t.Errorf("%q does not run gcp-aws-cred", line)
		}
		var cli CLI
		kctx, err := newParser(&cli, kong.Vars{"version": "v", "summary": summary}, io.Discard, io.Discard).Parse(args[1:])
		if err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		if kctx.Selected().Name != processName {
			t.Errorf("%q runs %q, not the credential process", line, kctx.Selected().Name)
			continue
		}
		if err := cli.Process.Check(); err != nil {
			t.Errorf("%q: %v", line, err)
		}
		if _, err := sts.New(cli.Process.STSConfig()); err != nil {
			t.Errorf("%q: %v", line, err)
		}
	}
	if n < 3 {
		t.Errorf("only %d credential_process lines", n)
	}
}

// shellSplit splits a command line as shlex and sh do for the quoting the
// examples use: single and double quotes, backslash outside quotes.
func shellSplit(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, io.ErrUnexpectedEOF
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}
