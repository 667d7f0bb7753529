package ops

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
	"github.com/gcp-aws-cred/gcp-aws-cred/output"
)

// Exec gets credentials once and runs argv with them in its environment, so
// a script of many aws commands makes one STS call instead of one per
// command. Where the platform allows it replaces this process, so exit
// status and signals are the command's own.
func Exec(ctx context.Context, o *cred.Options, argv []string) error {
	if len(argv) == 0 {
		return fail.Errorf(nil, "exec needs a command to run").
			Hint("gcp-aws-cred exec --role ARN -- aws s3 ls")
	}
	// Look the command up first: a typo should not cost an STS call.
	path, err := exec.LookPath(argv[0])
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return fail.Errorf(err, "command %q not found in PATH", argv[0]).
			Hint("check the spelling, or give the command's full path")
	case err != nil:
		return fail.Errorf(err, "cannot run %q: %v", argv[0], errors.Unwrap(err)).
			Hint("check that the file exists and is executable")
	}
	flow, err := cred.New(o)
	if err != nil {
		return err
	}
	creds, err := flow.Credentials(ctx)
	if err != nil {
		return err
	}
	return run(path, argv, execEnv(os.Environ(), creds, o.Region))
}

// execEnv is environ with the credentials in it and nothing that would
// override them: no other keys, and no AWS_PROFILE or AWS_DEFAULT_PROFILE,
// which SDKs would otherwise prefer to the variables.
func execEnv(environ []string, creds awscred.Credentials, region string) []string {
	drop := map[string]bool{"AWS_SECURITY_TOKEN": true, "AWS_PROFILE": true, "AWS_DEFAULT_PROFILE": true}
	for _, v := range output.Vars(creds) {
		drop[v.Name] = true
	}
	env := make([]string, 0, len(environ)+6)
	hasRegion := false
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] {
			continue
		}
		if k == "AWS_REGION" || k == "AWS_DEFAULT_REGION" {
			hasRegion = true
		}
		env = append(env, kv)
	}
	for _, v := range output.Vars(creds) {
		env = append(env, v.Name+"="+v.Value)
	}
	if !hasRegion && region != "" {
		env = append(env, "AWS_REGION="+region, "AWS_DEFAULT_REGION="+region)
	}
	return env
}
