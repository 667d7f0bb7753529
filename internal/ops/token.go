// Package ops holds the operator commands that sit beside the credential
// process: trust-policy, token, doctor and exec. They exist because the hard
// part of Google-to-AWS federation is the IAM set-up, and each of them
// explains it with this workload's real values. Each runs the steps of one
// cred.Flow; none writes to disk, and none prints a raw token, a signature,
// a secret key or a session token.
package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cred"
	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

// fetchClaims gets a token and returns its readable part only.
func fetchClaims(ctx context.Context, o *cred.TokenOptions) (token.JWT, error) {
	flow, err := cred.NewTokenFlow(o)
	if err != nil {
		return token.JWT{}, err
	}
	_, j, err := flow.Token(ctx)
	return j, err
}

// TrustPolicy returns the IAM trust policy that admits exactly this
// workload's tokens, ready for aws iam create-role
// --assume-role-policy-document.
func TrustPolicy(ctx context.Context, o *cred.TokenOptions) ([]byte, error) {
	j, err := fetchClaims(ctx, o)
	if err != nil {
		return nil, err
	}
	b, err := cred.TrustPolicy(j.Claims)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// TokenInfo is what the token command shows: the token's header and claims,
// each claim with the IAM condition key it feeds. It has no signature.
type TokenInfo struct {
	MetadataHost   string              `json:"metadata_host"`
	ServiceAccount string              `json:"service_account"`
	Header         token.Header        `json:"header"`
	Claims         token.Claims        `json:"claims"`
	ConditionKeys  []cred.ConditionKey `json:"iam_condition_keys"`
}

// Token fetches a token and describes it.
func Token(ctx context.Context, o *cred.TokenOptions) (TokenInfo, error) {
	j, err := fetchClaims(ctx, o)
	if err != nil {
		return TokenInfo{}, err
	}
	return TokenInfo{
		MetadataHost: token.MetadataHost(), ServiceAccount: o.ServiceAccount,
		Header: j.Header, Claims: j.Claims, ConditionKeys: cred.ConditionKeys(j.Claims),
	}, nil
}

// JSON renders the description for machines.
func (t TokenInfo) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(t, "", "  ")
	return append(b, '\n'), err
}

// Text renders the description for people: one claim a line, with the IAM
// condition key it feeds beside it.
func (t TokenInfo) Text(now time.Time) []byte {
	var b strings.Builder
	c := t.Claims
	fmt.Fprintf(&b, "ID token from the metadata server at %s for service account %q\n", t.MetadataHost, t.ServiceAccount)
	fmt.Fprintf(&b, "(signature not shown: the token is a bearer credential)\n\nheader\n")
	row(&b, "alg", t.Header.Alg, "")
	row(&b, "kid", t.Header.Kid, "Google key that signed it; STS fetches it from https://www.googleapis.com/oauth2/v3/certs")
	row(&b, "typ", t.Header.Typ, "")
	b.WriteString("\nclaims                                      IAM condition key / meaning\n")
	row(&b, "iss", c.Issuer, `the trust policy's Principal: {"Federated": "accounts.google.com"}`)
	row(&b, "aud", c.Audience.String(), "accounts.google.com:oaud (the audience you asked for: --audience)")
	if c.AuthorizedParty != "" {
		row(&b, "azp", c.AuthorizedParty, "accounts.google.com:aud (the service account's unique ID, despite the key's name)")
	} else {
		b.WriteString("  (no azp: IAM's accounts.google.com:aud then compares aud)\n")
	}
	row(&b, "sub", c.Subject, "accounts.google.com:sub (the service account's unique ID)")
	row(&b, "email", c.Email, "no condition key; pin sub instead: a re-created account keeps its email, not its ID")
	if c.Email != "" {
		row(&b, "email_verified", fmt.Sprint(c.EmailVerified), "")
	}
	row(&b, "iat", stamp(c.IssuedAt.Time(), now), "")
	row(&b, "exp", stamp(c.Expiry.Time(), now), "")
	if ce := c.Instance(); ce != nil {
		b.WriteString("\ngoogle.compute_engine (Compute Engine only; no IAM condition key)\n")
		row(&b, "project_id", ce.ProjectID, "")
		if ce.ProjectNumber != 0 {
			row(&b, "project_number", fmt.Sprint(ce.ProjectNumber), "")
		}
		row(&b, "zone", ce.Zone, "")
		row(&b, "instance_id", ce.InstanceID, "")
		row(&b, "instance_name", ce.InstanceName, "the default --session-name")
		if !ce.InstanceCreationTimestamp.Time().IsZero() {
			row(&b, "instance_creation_timestamp", ce.InstanceCreationTimestamp.Time().Format(time.RFC3339), "")
		}
	}
	b.WriteString("\nrun `gcp-aws-cred trust-policy` for the trust policy that admits exactly this token\n")
	return []byte(b.String())
}

func row(b *strings.Builder, k, v, note string) {
	if v == "" {
		return
	}
	line := fmt.Sprintf("  %-16s %s", k, v)
	if note != "" {
		line = fmt.Sprintf("%-44s%s", line+"  ", note)
	}
	b.WriteString(strings.TrimRight(line, " ") + "\n")
}

func stamp(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := t.Sub(now).Round(time.Second)
	rel := fmt.Sprintf("in %s", d)
	if d < 0 {
		rel = fmt.Sprintf("%s ago", -d)
	}
	return fmt.Sprintf("%s (%s)", t.Format(time.RFC3339), rel)
}
