package sts

import (
	"encoding/json"

	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

// TrustPolicy returns the IAM trust policy that admits tokens with these
// claims and no others: accounts.google.com:aud pinned to azp (the service
// account's unique ID), :oaud to aud, so tokens minted for other services
// cannot be replayed, and :sub to sub.
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
	doc := struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{
		Version: "2012-10-17",
		Statement: []statement{{
			Effect:    "Allow",
			Principal: map[string]string{"Federated": "accounts.google.com"},
			Action:    "sts:AssumeRoleWithWebIdentity",
			Condition: condition{StringEquals: map[string]string{
				"accounts.google.com:aud":  c.IAMAud(),
				"accounts.google.com:oaud": c.Audience.String(),
				"accounts.google.com:sub":  c.Subject,
			}},
		}},
	}
	return json.MarshalIndent(doc, "", "  ")
}
