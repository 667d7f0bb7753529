package ops

import (
	"context"
	"os"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/child"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/output"
)

// Exec gets credentials once and runs argv with them in its environment,
// replacing this process where the platform allows (child.Replace).
func Exec(ctx context.Context, o *cred.Options, argv []string) error {
	if len(argv) == 0 {
		return explain.Errorf(nil, "exec needs a command to run").
			Hint("gcp-aws-cred exec --role ARN -- aws s3 ls")
	}
	// Look the command up first: a typo should not cost an STS call.
	path, err := child.Look(argv[0])
	if err != nil {
		return err
	}
	flow, err := cred.New(o)
	if err != nil {
		return err
	}
	creds, err := flow.Credentials(ctx)
	if err != nil {
		return err
	}
	return child.Replace(path, argv, execEnv(os.Environ(), creds, o.Region))
}

// execEnv is environ with the credentials in it and nothing that would
// override them: no other keys, and no AWS_PROFILE or AWS_DEFAULT_PROFILE,
// which SDKs would otherwise prefer to the variables.
func execEnv(environ []string, creds awscred.Credentials, region string) []string {
	var set []string
	for _, v := range output.Vars(creds) {
		set = append(set, v.Name+"="+v.Value)
	}
	return child.Env(environ, []string{"AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"}, set, region)
}
