package cli

import (
	"context"
	"io"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/ops"
)

// ConsoleCmd opens the AWS console signed in as the role.
type ConsoleCmd struct {
	cred.Options `embed:""`
	ops.Console  `embed:""`
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
	return c.Console.Run(ctx, &c.Options, stdout)
}
