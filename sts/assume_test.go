package sts

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

const chained = "arn:aws:iam::210987654321:role/next"

// TestAssumeRole chains from the exchange's keys: the call is SigV4-signed
// with them (the fake verifies it), carries ExternalId and the session
// policy, and gives the next role's credentials.
func TestAssumeRole(t *testing.T) {
	e := setup(t)
	e.sts.Roles = map[string]fakes.Role{
		role:    {MaxSessionDuration: 12 * time.Hour},
		chained: {MaxSessionDuration: 12 * time.Hour, AssumedBy: []string{role}, ExternalID: "ext-1"},
	}
	ctx := context.Background()
	first, err := e.client.Exchange(ctx, e.token(t), Request{RoleARN: role, SessionName: "vm-1", Duration: MinDuration})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{RoleARN: chained, SessionName: "vm-1", Duration: 30 * time.Minute, Policy: `{"Version":"2012-10-17"}`}
	creds, err := e.client.AssumeRole(ctx, first, req, "ext-1")
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccountID != "210987654321" || creds.AssumedRoleARN != "arn:aws:sts::210987654321:assumed-role/next/vm-1" || creds.AccessKeyID == first.AccessKeyID {
		t.Errorf("got %s in %s", creds.AssumedRoleARN, creds.AccountID)
	}
	if d := time.Until(creds.Expiration); d < 29*time.Minute || d > 30*time.Minute {
		t.Errorf("expires in %s, want 30m", d)
	}
	rec := e.sts.Received()
	last := rec[len(rec)-1]
	if !strings.HasPrefix(last.Authorization, "AWS4-HMAC-SHA256 Credential="+first.AccessKeyID+"/") {
		t.Errorf("AssumeRole not signed with the first hop's key: %q", last.Authorization)
	}
	for k, want := range map[string]string{"Action": "AssumeRole", "ExternalId": "ext-1", "RoleSessionName": "vm-1", "DurationSeconds": "1800", "Policy": `{"Version":"2012-10-17"}`} {
		if got := last.Form.Get(k); got != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}

	// Keys that are not the ones STS issued fail its signature check. A
	// new client: the SDK's signer caches the key it derives per access
	// key ID.
	forged := first
	forged.SecretAccessKey = secret.New(strings.Repeat("x", 40))
	fresh, err := New(Config{Endpoint: e.client.Endpoint, BaseBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = fresh.AssumeRole(ctx, forged, req, "ext-1")
	if ErrorCode(err) != "SignatureDoesNotMatch" {
		t.Errorf("forged secret: %v (code %q), want SignatureDoesNotMatch", err, ErrorCode(err))
	}

	// A wrong external ID is AccessDenied, as data for the caller to word.
	_, err = e.client.AssumeRole(ctx, first, req, "ext-2")
	denied, ok := errors.AsType[*Error](err)
	if !ok || !errors.Is(err, ErrAccessDenied) || denied.Op != "AssumeRole" || denied.Role != chained || denied.Code != "AccessDenied" ||
		!strings.Contains(denied.Message, "is not authorized to perform: sts:AssumeRole on resource: "+chained) {
		t.Errorf("wrong external ID: %#v", err)
	}

	// A chained session longer than an hour: STS refuses it.
	req.Duration = 2 * time.Hour
	_, err = e.client.AssumeRole(ctx, first, req, "ext-1")
	if ErrorCode(err) != "ValidationError" || !strings.Contains(err.Error(), "1 hour session limit for roles assumed by role chaining") {
		t.Errorf("2h chained: %v", err)
	}
	for _, s := range e.sts.Issued() {
		if strings.Contains(err.Error(), s) {
			t.Errorf("an error shows an issued secret")
		}
	}
}

func TestValidExternalID(t *testing.T) {
	for id, want := range map[string]bool{
		"ab": true, "x": false, "a b": false, "arn:aws:x/y=z+@,.-_": true,
		strings.Repeat("a", MaxExternalIDLen): true, strings.Repeat("a", MaxExternalIDLen+1): false, "é1": false,
	} {
		if got := ValidExternalID(id); got != want {
			t.Errorf("ValidExternalID(%q) = %v", id, got)
		}
	}
}
