package cred

import (
	"cmp"
	"encoding/json"
	"fmt"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

// ConditionKey pairs an IAM condition key for Google with the claim it
// compares and that claim's value in one token.
type ConditionKey struct {
	Key   string `json:"key"`
	Claim string `json:"claim"`
	Value string `json:"value"`
}

// ConditionKeys lists IAM's condition keys for accounts.google.com and the
// claim values they compare. IAM maps accounts.google.com:aud to azp (the
// service account's unique ID) when the token has one: the usual mistake
// is to take it for the audience.
func ConditionKeys(c token.Claims) []ConditionKey {
	azp := "azp"
	if c.AuthorizedParty == "" {
		azp = "aud"
	}
	return []ConditionKey{
		{"accounts.google.com:aud", azp, c.IAMAud()},
		{"accounts.google.com:oaud", "aud", c.Audience.String()},
		{"accounts.google.com:sub", "sub", c.Subject},
	}
}

// TrustPolicy returns the IAM trust policy that admits tokens with these
// claims and no others: :aud pinned to azp, :oaud to aud, so that tokens
// minted for other services cannot be replayed, and :sub to sub.
func TrustPolicy(c token.Claims) ([]byte, error) {
	type condition struct {
		StringEquals map[string]string `json:"StringEquals"`
	}
	type statement struct {
		Effect    string            `json:"Effect"`
		Principal map[string]string `json:"Principal"`
		Action    string            `json:"Action"`
		Condition condition         `json:"Condition"`
	}
	keys := map[string]string{}
	for _, k := range ConditionKeys(c) {
		keys[k.Key] = k.Value
	}
	doc := struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{
		Version: "2012-10-17",
		Statement: []statement{{
			Effect:    "Allow",
			Principal: map[string]string{"Federated": "accounts.google.com"},
			Action:    "sts:AssumeRoleWithWebIdentity",
			Condition: condition{StringEquals: keys},
		}},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// trustHints explain what the role's trust policy has to say for a token
// with these claims, with their actual values, because the usual mistake is
// putting the audience where IAM expects the service account's unique ID.
func trustHints(c token.Claims) []string {
	who := cmp.Or(clean.Line(c.Email), "the service account") // claims come from the metadata server: one line each
	policy, _ := TrustPolicy(c)
	return []string{
		fmt.Sprintf("the role's trust policy must trust %s: its token has azp=%s, aud=%s, sub=%s", who, clean.Line(c.AuthorizedParty), clean.Line(c.Audience.String()), clean.Line(c.Subject)),
		"IAM compares accounts.google.com:aud with the token's azp (the service account's unique ID, not the audience), accounts.google.com:oaud with its aud (--audience), and accounts.google.com:sub with its sub",
		"a trust policy that admits exactly this workload:\n" + string(clean.JSON(policy)),
	}
}
