// Command gcp-aws-cred lets a workload on Google Cloud use AWS without an AWS
// access key. AWS tools run it through credential_process in ~/.aws/config;
// it trades the workload's Google ID token for temporary AWS credentials at
// STS and prints them as the credential_process JSON document. The command
// line is internal/cli.
package main

import (
	"io"
	"os"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cli"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the exit, so the tests run the real command line in
// process.
func run(args []string, stdout, stderr io.Writer) int {
	return cli.Run(args, stdout, stderr, versionString)
}
