package cred

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

const (
	hub    = "arn:aws:iam::111111111111:role/hub"
	target = "arn:aws:iam::222222222222:role/team/target"
)

// TestChainEveryFetch runs Credentials twice, as serve's refreshes do: each
// call runs the whole chain from a fresh token, the exchange without the
// session policies and for 15 minutes, the last hop with them, --duration,
// the external ID and the same session name.
func TestChainEveryFetch(t *testing.T) {
	srv, err := fakes.StartWith(fakes.Options{Roles: map[string]fakes.Role{
		hub:    {MaxSessionDuration: 12 * time.Hour},
		target: {MaxSessionDuration: 12 * time.Hour, AssumedBy: []string{hub}, ExternalID: "ext-9"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Setenv("GCE_METADATA_HOST", srv.MetadataHost)
	o := &Options{
		Role: hub, ChainRoles: []string{target}, ExternalID: "ext-9", SessionName: "svc-1",
		Duration: 45 * time.Minute, Policy: `{"Version":"2012-10-17"}`, PolicyARNs: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"},
		STSEndpoint:  srv.STSURL,
		TokenOptions: TokenOptions{Audience: "sts.amazonaws.com", ServiceAccount: "default", Timeout: 10 * time.Second},
	}
	flow, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		creds, err := flow.Credentials(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if creds.AssumedRoleARN != "arn:aws:sts::222222222222:assumed-role/target/svc-1" || creds.AccountID != "222222222222" {
			t.Errorf("got %s (%s)", creds.AssumedRoleARN, creds.AccountID)
		}
	}
	rec := srv.STS.Received()
	if len(rec) != 4 {
		t.Fatalf("%d STS requests, want 4", len(rec))
	}
	for i, r := range rec {
		f := r.Form
		if i%2 == 0 {
			if f.Get("Action") != "AssumeRoleWithWebIdentity" || f.Get("RoleArn") != hub || f.Get("DurationSeconds") != "900" ||
				f.Has("Policy") || f.Has("PolicyArns.member.1.arn") || f.Has("ExternalId") || r.Authorization != "" {
				t.Errorf("request %d, the exchange: %v (signed: %v)", i, f, r.Authorization != "")
			}
		} else if f.Get("Action") != "AssumeRole" || f.Get("RoleArn") != target || f.Get("DurationSeconds") != "2700" ||
			f.Get("Policy") != o.Policy || f.Get("PolicyArns.member.1.arn") != o.PolicyARNs[0] || f.Get("ExternalId") != "ext-9" ||
			!strings.HasPrefix(r.Authorization, "AWS4-HMAC-SHA256 ") {
			t.Errorf("request %d, the hop: %v", i, f)
		}
		if f.Get("RoleSessionName") != "svc-1" {
			t.Errorf("request %d: session %q", i, f.Get("RoleSessionName"))
		}
	}
}
