package ops

import (
	"context"
	"strings"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cred"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// chainHops runs the --chain-role hops after the exchange, one by one, and
// records in s the session each reached: the fact chain lists the
// assumed-role ARN of every hop, the exchange's first, so a failing hop shows
// how far the chain got. It returns the last hop's credentials.
func chainHops(ctx context.Context, s *Step, flow *cred.Flow, creds awscred.Credentials, req sts.Request) (awscred.Credentials, error) {
	if !flow.Opts.Chained() {
		return creds, nil
	}
	reached := []string{creds.AssumedRoleARN}
	record := func() {
		s.factAs("chain", "chain", strings.Join(reached, " "), strings.Join(reached, " → "))
	}
	for i := range flow.Opts.ChainRoles {
		next, err := flow.Hop(ctx, i, creds, req)
		if err != nil {
			record()
			return awscred.Credentials{}, err
		}
		creds = next
		reached = append(reached, creds.AssumedRoleARN)
	}
	record()
	return creds, nil
}
