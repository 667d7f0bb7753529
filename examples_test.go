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
// It also holds the examples to what they teach: the AWS CLI and SDKs pass
// no profile setting to a credential process, so in every profile the STS
// region the credential process resolves on its own is the profile's region.
func TestExampleConfig(t *testing.T) {
	f, err := os.Open("examples/aws-config")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, env := range []string{"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(env, "")
	}
	type profile struct{ name, process, region string }
	var profiles []*profile
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "[") {
			profiles = append(profiles, &profile{name: line})
			continue
		}
		k, v, ok := strings.Cut(line, " = ")
		if !ok || len(profiles) == 0 {
			continue
		}
		switch p := profiles[len(profiles)-1]; k {
		case "credential_process":
			p.process = v
		case "region":
			p.region = v
		}
	}
	n := 0
	for _, p := range profiles {
		if p.process == "" {
			continue
		}
		n++
		args, err := shellSplit(p.process)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if args[0] != "gcp-aws-cred" {
			t.Errorf("%s does not run gcp-aws-cred", p.name)
		}
		var cli CLI
		kctx, err := newParser(&cli, kong.Vars{"version": "v", "summary": summary}, io.Discard, io.Discard).Parse(args[1:])
		if err != nil {
			t.Errorf("%s: %v", p.name, err)
			continue
		}
		if kctx.Selected().Name != processName {
			t.Errorf("%s runs %q, not the credential process", p.name, kctx.Selected().Name)
			continue
		}
		o := &cli.Process.Options
		if err := o.Check(); err != nil {
			t.Errorf("%s: %v", p.name, err)
		}
		if _, err := sts.New(o.STSConfig()); err != nil {
			t.Errorf("%s: %v", p.name, err)
		}
		region, source, _ := o.STSRegion()
		if p.region != "" && region != p.region {
			t.Errorf("%s: the profile's region is %s, but STS is called in %s (%s): put --region %s on the credential_process line", p.name, p.region, region, source, p.region)
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
