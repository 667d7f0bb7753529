package token

import (
	"encoding/json"
	"testing"
)

// TestConditionKeysAsAWSDocuments pins the IAM condition keys of Google ID
// tokens (accounts.google.com:aud ← azp when set, else aud;
// accounts.google.com:oaud ← aud; accounts.google.com:sub ← sub) to AWS's
// own documentation, not to our fake STS, which implements the same
// mapping and so cannot catch a mistake in it.
//
// Source: AWS Identity and Access Management User Guide, "IAM and AWS STS
// condition context keys", section "Available keys for AWS web identity
// federation", key "aud":
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif
// (as in github.com/awsdocs/iam-user-guide,
// doc_source/reference_policies_iam-condition-keys.md), which says:
//
//	The accounts.google.com:aud condition key matches the following Google
//	ID Token fields.
//	+ aud for OAuth 2.0 Google client IDs of your application, when the azp
//	  field is not set. When the azp field is set, the aud field matches the
//	  accounts.google.com:oaud condition key.
//	+ azp when the azp field is set.
//
// and gives the two policies below, quoted as published: with azp not set,
// "the Google ID Token aud field value matches both the
// accounts.google.com:aud and the accounts.google.com:oaud condition key
// values"; with azp set, "the Google ID Token aud field value matches only
// the accounts.google.com:oaud condition key value. The azp field value
// matches the accounts.google.com:aud condition key value."
func TestConditionKeysAsAWSDocuments(t *testing.T) {
	const azpNotSet = `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": "accounts.google.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "accounts.google.com:aud": "aud-value",
                    "accounts.google.com:oaud": "aud-value",
                    "accounts.google.com:sub": "sub-value"
                }
            }
        }
    ]
}`
	const azpSet = `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": "accounts.google.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "accounts.google.com:aud": "azp-value",
                    "accounts.google.com:oaud": "aud-value",
                    "accounts.google.com:sub": "sub-value"
                }
            }
        }
    ]
}`
	for name, tc := range map[string]struct {
		policy string
		claims string
	}{
		"azp not set": {azpNotSet, `{"iss":"https://accounts.google.com","aud":"aud-value","sub":"sub-value"}`},
		"azp set":     {azpSet, `{"iss":"https://accounts.google.com","aud":"aud-value","azp":"azp-value","sub":"sub-value"}`},
	} {
		t.Run(name, func(t *testing.T) {
			var doc struct {
				Statement []struct {
					Condition struct {
						StringEquals map[string]string
					}
				}
			}
			if err := json.Unmarshal([]byte(tc.policy), &doc); err != nil {
				t.Fatal(err)
			}
			var c Claims
			if err := json.Unmarshal([]byte(tc.claims), &c); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{
				"accounts.google.com:aud":  c.IAMAud(),
				"accounts.google.com:oaud": c.Audience.String(),
				"accounts.google.com:sub":  c.Subject,
			}
			want := doc.Statement[0].Condition.StringEquals
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: our mapping gives %q, AWS's documented policy %q", k, got[k], v)
				}
			}
			if len(want) != len(got) {
				t.Errorf("keys: ours %v, AWS's %v", got, want)
			}
		})
	}
}
