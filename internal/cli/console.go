package cli

import (
	"context"
	"io"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/ops"
	"github.com/gcp-aws-cred/gcp-aws-cred/output"
)

// ConsoleCmd opens the AWS console signed in as the role.
type ConsoleCmd struct {
	cred.Options `embed:""`

	FederationEndpoint string `name:"federation-endpoint" help:"Sign-in federation endpoint, the whole URL; default the role's partition's (https://signin.aws.amazon.com/federation, https://signin.amazonaws-us-gov.com/federation, https://signin.amazonaws.cn/federation). http:// only on loopback." placeholder:"URL"`
	Destination        string `help:"Console page to land on; default the console home of the STS region." placeholder:"URL"`
	Stdout             bool   `name:"stdout" help:"Print the sign-in link instead of opening a browser (the default where there is no display). Prefer it on shared hosts: an opener's arguments are visible to local users."`
}

// Help is the worked example under `console --help`.
func (*ConsoleCmd) Help() string {
	return `Gets credentials as the credential process does (--role, --chain-role,
--impersonate), trades them at the AWS sign-in federation endpoint for a
sign-in token, and opens the console with it in the browser (xdg-open, open,
or rundll32). With --stdout, or where there is no display (no DISPLAY or
WAYLAND_DISPLAY), it prints the link instead. The link signs anyone in until it
expires: treat it as a password. The console session lasts as long as the
credentials: --duration (at most the role's maximum, 1h with --chain-role).

  gcp-aws-cred console --role arn:aws:iam::123456789012:role/aws-allow-gcp-access --region eu-west-1
  gcp-aws-cred console --impersonate ci@my-project.iam.gserviceaccount.com --role arn:aws:iam::123456789012:role/ci --stdout`
}

// Run gets the link and opens it, or prints it.
func (c *ConsoleCmd) Run(ctx context.Context, stdout io.Writer) error {
	link, err := ops.ConsoleLink(ctx, &c.Options, ops.Console{Endpoint: c.FederationEndpoint, Destination: c.Destination})
	if err != nil {
		return err
	}
	if !c.Stdout && !ops.NoDisplay() {
		return ops.OpenBrowser(ctx, link)
	}
	if err := output.Write(stdout, []byte(link.Reveal()+"\n")); err != nil {
		return explain.Errorf(err, "cannot write the sign-in link to stdout: %v", err).
			Hint("run it with stdout open, or without --stdout where a browser can be opened")
	}
	return nil
}
