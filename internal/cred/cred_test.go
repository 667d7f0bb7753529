package cred

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

func TestEndpointPrecedence(t *testing.T) {
	for _, tc := range []struct {
		flag, sts, all, ignore, want string
	}{
		{want: ""},
		{all: "https://all", want: "https://all"},
		{sts: "https://sts", all: "https://all", want: "https://sts"},
		{flag: "https://flag", sts: "https://sts", all: "https://all", want: "https://flag"},
		{sts: "https://sts", all: "https://all", ignore: "true", want: ""},
		{flag: "https://flag", ignore: "TRUE", want: "https://flag"},
	} {
		t.Setenv("AWS_ENDPOINT_URL_STS", tc.sts)
		t.Setenv("AWS_ENDPOINT_URL", tc.all)
		t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", tc.ignore)
		o := Options{STSEndpoint: tc.flag}
		if got, _ := o.Endpoint(); got != tc.want {
			t.Errorf("%+v: Endpoint() = %q, want %q", tc, got, tc.want)
		}
	}
}

func TestDefaultSessionName(t *testing.T) {
	vm := token.Claims{Email: "sa@p.iam.gserviceaccount.com", Google: &token.GoogleEx{ComputeEngine: &token.ComputeEngine{InstanceName: "web-1"}}}
	pod := token.Claims{Email: "etl@p.iam.gserviceaccount.com"}
	imp := token.Claims{Email: "aws-target@p.iam.gserviceaccount.com", AuthorizedParty: "108765432109876543210", Subject: "108765432109876543210"}
	for _, tc := range []struct {
		claims  token.Claims
		service string // K_SERVICE
		host    string
		want    string
	}{
		{vm, "", "web-1.c.proj.internal", "web-1"},                      // Compute Engine: the instance name
		{vm, "knative-svc", "web-1.c.proj.internal", "web-1"},           // an instance name wins over K_SERVICE
		{pod, "", "api-7d9f8-x2kq.pod.cluster.local", "api-7d9f8-x2kq"}, // GKE: the pod's name
		{pod, "billing-api", "localhost", "billing-api"},                // Cloud Run (first generation): the service
		{pod, "billing-api", "a1b2c3d4e5f6", "billing-api"},             // Cloud Run (second generation): the service, not the sandbox's name
		{pod, "resize_image", "localhost", "resize_image"},              // Cloud Functions: the function
		{pod, "svc with/odd:chars", "x9", "svc-with-odd-chars"},         // sanitized
		{pod, "s", "sandbox-7", "sandbox-7"},                            // too short to name a session: the host then
		{pod, "", "localhost", "etl"},                                   // no service, no host: the account's name
		{pod, "", "", "etl"},                                            // no host name at all
		{token.Claims{}, "", "localhost", "gcp-aws-cred"},               // nothing to go by
		{token.Claims{Email: "a@p"}, "", "x", "gcp-aws-cred"},           // too short to be a session name
		{pod, "", "my host (prod)", "my-host-prod"},                     // sanitized
		{token.Claims{Google: &token.GoogleEx{}}, "", "h1", "h1"},       // a google claim without compute_engine
		// --impersonate off Google Cloud: generateIdToken's token names no
		// instance, so the machine's name, else the target's.
		{imp, "", "alices-MacBook-Pro.local", "alices-MacBook-Pro"}, // a laptop
		{imp, "", "fv-az123-456", "fv-az123-456"},                   // a CI runner
		{imp, "", "localhost", "aws-target"},                        // no useful host name: the target
	} {
		if got := defaultSessionName(tc.claims, tc.service, tc.host); got != tc.want {
			t.Errorf("defaultSessionName(%+v, %q, %q) = %q, want %q", tc.claims, tc.service, tc.host, got, tc.want)
		}
	}
}

func TestTrustPolicy(t *testing.T) {
	c := token.Claims{Audience: token.Audience{"sts.amazonaws.com"}, AuthorizedParty: "104729387361234567890", Subject: "104729387361234567890"}
	got, err := TrustPolicy(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "Federated": "accounts.google.com"
      },
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {
        "StringEquals": {
          "accounts.google.com:aud": "104729387361234567890",
          "accounts.google.com:oaud": "sts.amazonaws.com",
          "accounts.google.com:sub": "104729387361234567890"
        }
      }
    }
  ]
}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("trust policy (-want +got):\n%s", diff)
	}
	// Without azp, IAM compares aud: say so instead of inventing a value.
	c.AuthorizedParty = ""
	if keys := ConditionKeys(c); keys[0].Claim != "aud" || keys[0].Value != "sts.amazonaws.com" {
		t.Errorf("without azp: %+v", keys[0])
	}
}

// TestAccessDeniedExplained runs the flow against a fake STS whose role
// trusts another account: the error carries the policy these claims need,
// and errors.Is still tells what kind of failure it was.
func TestAccessDeniedExplained(t *testing.T) {
	srv, err := fakes.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	t.Setenv("GCE_METADATA_HOST", srv.MetadataHost)
	role := "arn:aws:iam::123456789012:role/r"
	srv.STS.Roles = map[string]fakes.Role{role: {MaxSessionDuration: time.Hour, Trust: &fakes.Trust{Aud: "999"}}}
	o := Options{Role: role, STSEndpoint: srv.STSURL, Duration: time.Hour,
		TokenOptions: TokenOptions{Audience: "sts.amazonaws.com", ServiceAccount: "default", Timeout: 10 * time.Second}}
	flow, err := New(&o)
	if err != nil {
		t.Fatal(err)
	}
	_, err = flow.Credentials(context.Background())
	err = (&explain.Given{}).Explain(err)
	if !errors.Is(err, sts.ErrAccessDenied) || sts.ErrorCode(err) != "AccessDenied" {
		t.Fatalf("err = %v (code %q)", err, sts.ErrorCode(err))
	}
	hints := strings.Join(explain.Hints(err), "\n")
	for _, want := range []string{
		"must trust " + fakes.DefaultEmail + ": its token has azp=" + fakes.DefaultUniqueID + ", aud=sts.amazonaws.com, sub=" + fakes.DefaultUniqueID,
		`"accounts.google.com:aud": "` + fakes.DefaultUniqueID + `"`,
		`"accounts.google.com:oaud": "sts.amazonaws.com"`,
		"role exists in account 123456789012",
	} {
		if !strings.Contains(hints, want) {
			t.Errorf("hints lack %q:\n%s", want, hints)
		}
	}
	if strings.Index(hints, "must trust") > strings.Index(hints, "role exists") {
		t.Error("the claims' policy should come before the general advice")
	}
	for _, tok := range srv.Metadata.Minted() {
		if strings.Contains(err.Error()+hints, strings.Split(tok, ".")[2]) {
			t.Error("the token leaked into the message")
		}
	}
}

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{errors.New("x"), ExitFailure},
		{explain.Exit(7), 7},
		{fmt.Errorf("wrapped: %w", explain.Exit(0)), 0},
		{explain.Errorf(errors.Join(sts.ErrThrottled, errors.New("sdk")), "throttled"), ExitThrottled},
	} {
		if got := ExitStatus(tc.err); got != tc.want {
			t.Errorf("ExitStatus(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	base := func() Options {
		return Options{Role: "arn:aws:iam::123456789012:role/r", Duration: 3600e9, TokenOptions: TokenOptions{Audience: "a", ServiceAccount: "default", Timeout: 1e9}}
	}
	o := base()
	if err := o.Check(); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	for _, mod := range []func(*Options){
		func(o *Options) { o.Role = "" },
		func(o *Options) { o.SessionName = "a b" },
		func(o *Options) { o.Audience = " " },
		func(o *Options) { o.ServiceAccount = "../token" },
		// Neither "default" nor an email: no metadata server knows it.
		func(o *Options) { o.ServiceAccount = "workload" },
		func(o *Options) { o.Timeout = 0 },
		func(o *Options) { o.Duration = 1 },
	} {
		o := base()
		mod(&o)
		if err := o.Check(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// TestCheckRefusesZeroDurationAndBadHost: --duration 0 would silently be
// STS's default; a GCE_METADATA_HOST that is not host:port would change the
// request. Both are refused before any network call.
func TestCheckRefusesZeroDurationAndBadHost(t *testing.T) {
	o := Options{Role: "arn:aws:iam::123456789012:role/r", TokenOptions: TokenOptions{Audience: "a", ServiceAccount: "default", Timeout: time.Second}}
	if err := (&explain.Given{}).Explain(o.Check()); err == nil || err.Error() != "--duration 0s is out of range: STS issues sessions of 15m to 12h" ||
		!strings.Contains(strings.Join(explain.Hints(err), "\n"), "leave --duration out for the default, 1h") {
		t.Errorf("--duration 0: %v", err)
	}
	o.Duration = time.Hour
	t.Setenv("GCE_METADATA_HOST", "http://127.0.0.1:8080")
	if err := o.Check(); err == nil || !strings.Contains(err.Error(), "GCE_METADATA_HOST") {
		t.Errorf("bad host: %v", err)
	}
	if _, err := NewTokenFlow(&o.TokenOptions); err == nil {
		t.Error("NewTokenFlow accepted a bad host")
	}
}
