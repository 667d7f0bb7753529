package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

// TestHelpExamplesWorkInSandbox: every gcp-aws-cred command line in the
// commands' help parses, and every role it names is one the local sandbox
// (fakeservers) admits, so an example pasted into the sandbox shell gets
// credentials, not AccessDenied.
func TestHelpExamplesWorkInSandbox(t *testing.T) {
	admitted := map[string]bool{}
	for arn, r := range fakes.SandboxRoles() {
		admitted[arn] = r.Trust == nil || r.Trust.Aud == fakes.DefaultUniqueID && r.Trust.Sub == fakes.DefaultUniqueID
	}
	helps := map[string]string{
		"--help": (&ProcessCmd{}).Help(), "trust-policy": (&TrustPolicyCmd{}).Help(), "token": (&TokenCmd{}).Help(),
		"doctor": (&DoctorCmd{}).Help(), "exec": (&ExecCmd{}).Help(), "serve": (&ServeCmd{}).Help(),
	}
	examples := 0
	for where, help := range helps {
		for _, line := range strings.Split(help, "\n") {
			args := exampleArgs(line)
			if args == nil {
				continue
			}
			examples++
			var c CLI
			if _, err := NewParser(&c, io.Discard, io.Discard).Parse(args); err != nil {
				t.Errorf("%s: %q does not parse: %v", where, line, err)
			}
			for i, a := range args {
				if a == "--role" && i+1 < len(args) && !admitted[args[i+1]] {
					t.Errorf("%s: %q names role %s, which the sandbox does not admit", where, strings.TrimSpace(line), args[i+1])
				}
			}
		}
	}
	if examples < 10 {
		t.Errorf("found %d examples; the help has more", examples)
	}
}

// exampleArgs is the arguments of the gcp-aws-cred command on an example
// line (indented, unlike the prose), after any VAR=value prefix or
// "credential_process =", up to a redirection; nil when the line runs no
// gcp-aws-cred.
func exampleArgs(line string) []string {
	if !strings.HasPrefix(line, "  ") {
		return nil
	}
	f := strings.Fields(line)
	for len(f) > 0 && f[0] != Name {
		f = f[1:]
	}
	if len(f) == 0 {
		return nil
	}
	args := []string{}
	for _, a := range f[1:] {
		if a == ">" || a == "|" {
			break
		}
		args = append(args, a)
	}
	return args
}
