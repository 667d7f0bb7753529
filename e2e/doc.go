// Package e2e drives gcp-aws-cred the way users do: through credential_process
// in an AWS config file, with the real AWS CLI and boto3, against moto's STS
// and S3 and the project's fake metadata server. It also holds the tests
// that need the real binary as its own process: the no-files test under
// strace, which needs none of the tools below.
//
// The tools come from Python: pip install awscli boto3 "moto[server]". When
// one is missing the tests skip and say what to install, except under CI
// (CI=true), where a missing tool fails the run so it cannot go green by
// skipping. go test -short skips them too.
package e2e
