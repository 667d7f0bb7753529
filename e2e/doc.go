// Package e2e drives gcp-aws-cred the way users do: through credential_process
// in an AWS config file, with the real AWS CLI (v1 and v2) and boto3, against
// moto's STS and S3 and the project's fake metadata server; and the local
// sandbox (internal/cmd/fakeservers) as docs/sandbox.md walks through it. It also
// holds the tests that need the real binary as its own process: the no-files
// test under strace, which needs none of the tools below.
//
// The tools: pip install awscli boto3 "moto[server]" for AWS CLI v1 (aws on
// PATH), boto3 and moto; AWS CLI v2 is Debian's awscli package at
// /usr/bin/aws (or $E2E_AWS_V2). When one is missing the tests skip and say
// what to install, except under CI (CI=true), where a missing tool fails the
// run so it cannot go green by skipping. go test -short skips them too.
package e2e
