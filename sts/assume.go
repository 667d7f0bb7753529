package sts

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
)

// ChainMaxDuration is the longest session STS issues to AssumeRole called
// with a role session's keys (role chaining), whatever the role's maximum
// session duration.
const ChainMaxDuration = time.Hour

// Limits of AssumeRole's ExternalId.
const (
	MinExternalIDLen = 2
	MaxExternalIDLen = 1224
)

// ValidExternalID reports whether id is an ExternalId STS accepts: 2 to
// 1224 characters from letters, digits and _+=,.@:/-.
func ValidExternalID(id string) bool {
	return len(id) >= MinExternalIDLen && len(id) <= MaxExternalIDLen &&
		allBytes(id, func(c byte) bool { return sessionChar(c) || c == ':' || c == '/' })
}

// AssumeRole assumes req.RoleARN with AssumeRole, signed (SigV4) with from,
// the keys of the previous hop: through the same endpoint, region, TLS
// settings and retry policy as the exchange. externalID, when not empty, is
// sent as ExternalId. from's secrets are only ever handed to the signer.
func (c *Client) AssumeRole(ctx context.Context, from awscred.Credentials, req Request, externalID string) (awscred.Credentials, error) {
	in := &awssts.AssumeRoleInput{
		RoleArn:         aws.String(req.RoleARN),
		RoleSessionName: aws.String(req.SessionName),
	}
	in.DurationSeconds, in.Policy, in.PolicyArns = req.shared()
	if externalID != "" {
		in.ExternalId = aws.String(externalID)
	}
	keys := aws.Credentials{
		AccessKeyID:     from.AccessKeyID,
		SecretAccessKey: from.SecretAccessKey.Reveal(),
		SessionToken:    from.SessionToken.Reveal(),
		Source:          "previous hop",
		CanExpire:       !from.Expiration.IsZero(),
		Expires:         from.Expiration,
	}
	// The client is built anonymous, for AssumeRoleWithWebIdentity; this
	// one call is signed with the previous hop's keys.
	signed := func(o *awssts.Options) {
		o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return keys, nil })
	}
	out, err := c.API.AssumeRole(ctx, in, signed)
	if err != nil {
		return awscred.Credentials{}, c.newError("AssumeRole", err, req)
	}
	return c.credentials("AssumeRole", &awssts.AssumeRoleWithWebIdentityOutput{
		Credentials:     out.Credentials,
		AssumedRoleUser: out.AssumedRoleUser,
		ResultMetadata:  out.ResultMetadata,
	}, req)
}
