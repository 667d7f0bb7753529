package cli

import "testing"

// TestCheckProcessArgs: the agent runs its binary only as the credential
// process; a request naming a command, help, the version or anything the
// process does not take is refused before anything runs.
func TestCheckProcessArgs(t *testing.T) {
	for _, args := range [][]string{
		{"--role", "arn:aws:iam::123456789012:role/r"},
		{"--role", "arn:aws:iam::123456789012:role/r", "-o", "env", "--duration", "90"},
		{},
	} {
		if err := checkProcessArgs(args); err != nil {
			t.Errorf("%q refused: %v", args, err)
		}
	}
	for _, args := range [][]string{
		{"exec", "--role", "x", "--", "sh"},
		{"serve"}, {"agent"}, {"get"},
		{"--role", "x", "--", "sh"},
		{"--help"}, {"-h"}, {"--version"},
		{"--role", "x", "--no-agent"},
		{"--role", "x", "--bogus"},
		{"--role", "x", "sh", "-c", "true"},
		// help in a cluster of short flags: kong would print it and exit
		// the agent's process.
		{"--role", "x", "-ho", "env"},
	} {
		if err := checkProcessArgs(args); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
