package cred

import (
	"cmp"
	"context"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// The rules of role chaining (docs/chaining.md says them to users):
//
//   - after the exchange into --role, each --chain-role is assumed in order
//     with AssumeRole, signed with the previous hop's keys, through the same
//     STS client; every hop has the same session name, so CloudTrail ties
//     them together;
//   - --external-id goes with every AssumeRole hop: STS ignores an
//     ExternalId a trust policy does not ask for, so one value serves;
//   - --policy and --policy-arn narrow the last hop only: narrowing an
//     earlier one would also have to allow the next sts:AssumeRole;
//   - the last hop lasts --duration, at most STS's hour for role chaining;
//     the hops before it the minimum, since their keys sign one call.

// Chained reports whether --chain-role names any role.
func (o *Options) Chained() bool { return len(o.ChainRoles) > 0 }

func (o *Options) checkChain() error {
	if !o.Chained() {
		if o.ExternalID != "" {
			return explain.Errorf(nil, "--external-id is given without --chain-role").
				Hint("the external ID goes with the AssumeRole hops that --chain-role adds; the web-identity exchange into --role takes none",
					"add --chain-role ARN for the role whose trust policy asks for sts:ExternalId, or leave --external-id (and GCP_AWS_CRED_EXTERNAL_ID) out")
		}
		return nil
	}
	first := Partition(o.Role)
	for _, arn := range o.ChainRoles {
		if _, _, err := sts.ParseRoleARN(arn); err != nil {
			return explain.Errorf(nil, "--chain-role %q is not an IAM role ARN", arn).
				Hint("a role ARN looks like arn:aws:iam::123456789012:role/NAME (or arn:aws-cn:…, arn:aws-us-gov:…, with an optional path: role/PATH/NAME)")
		}
		if p := Partition(arn); o.Role != "" && p != first {
			return explain.Errorf(nil, "--chain-role %s is in partition %s, --role %s in %s: a role chain stays in one partition", arn, p, o.Role, first).
				Hint("AWS partitions (aws, aws-cn, aws-us-gov) have separate IAM and STS; a role can only assume roles of its own partition")
		}
	}
	if o.Duration > sts.ChainMaxDuration {
		return explain.ChainTooLong(o.Duration, sts.ChainMaxDuration)
	}
	if o.ExternalID != "" && !sts.ValidExternalID(o.ExternalID) {
		return explain.Errorf(nil, "--external-id %q is not an external ID STS accepts", o.ExternalID).
			Hint("an external ID has 2 to 1224 characters from letters, digits and _+=,.@:/-; copy it from the role's sts:ExternalId condition")
	}
	return nil
}

// FirstHop is the exchange's request when req is the whole run's: with
// --chain-role it is an intermediate hop.
func (f *Flow) FirstHop(req sts.Request) sts.Request {
	if !f.Opts.Chained() {
		return req
	}
	return intermediate(req)
}

// intermediate is req for a hop whose keys only sign the next hop's call:
// no session policy, and the shortest session.
func intermediate(req sts.Request) sts.Request {
	req.Policy, req.PolicyARNs, req.Duration = "", nil, sts.MinDuration
	return req
}

// Chain assumes every --chain-role in turn, starting from the exchange's
// credentials. reached, when not nil, gets each hop's credentials as they
// come, so that doctor can show how far a failing chain got.
func (f *Flow) Chain(ctx context.Context, creds awscred.Credentials, req sts.Request, reached func(awscred.Credentials)) (awscred.Credentials, error) {
	roles, prev := f.Opts.ChainRoles, f.Opts.Role
	for i, role := range roles {
		hreq := req
		if i < len(roles)-1 {
			hreq = intermediate(req)
		}
		hreq.RoleARN = role
		h := explain.Hop{N: i + 2, Of: len(roles) + 1, Role: role, Previous: prev, ExternalID: f.Opts.ExternalID}
		start := time.Now()
		next, err := f.STS.AssumeRole(ctx, creds, hreq, f.Opts.ExternalID)
		if err != nil {
			f.Trace.Printf("hop %d (AssumeRole %s): failed after %s (%s)", h.N, role, transport.Duration(time.Since(start)), cmp.Or(sts.ErrorCode(err), "none"))
			return awscred.Credentials{}, explain.HopFailed(h, err)
		}
		f.Trace.Printf("hop %d (AssumeRole %s): session %s, %s until %s, after %s", h.N, role, hreq.SessionName, next.AssumedRoleARN, next.Expiration.Format(time.RFC3339), transport.Duration(time.Since(start)))
		if reached != nil {
			reached(next)
		}
		creds, prev = next, role
	}
	return creds, nil
}
