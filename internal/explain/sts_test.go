package explain_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// TestHintsKnowTheEndpointsSource: a hint never tells a user to pass the
// flag they passed. With STS's own endpoint, a failure to resolve it points
// at the region and at a VPC endpoint; with an endpoint the user gave, at
// that endpoint and where the command line says it came from.
func TestHintsKnowTheEndpointsSource(t *testing.T) {
	dnsFailure := sts.APIFunc(func(context.Context, *awssts.AssumeRoleWithWebIdentityInput, ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
		return nil, fmt.Errorf("operation error STS: AssumeRoleWithWebIdentity, https response error: %w",
			&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}})
	})
	refused := sts.APIFunc(func(context.Context, *awssts.AssumeRoleWithWebIdentityInput, ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
		return nil, fmt.Errorf("operation error STS: AssumeRoleWithWebIdentity: %w",
			&net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("connect: %w", fmt.Errorf("connection refused"))})
	})
	const vpce = "https://vpce-0123456789abcdef0-abcdefgh.sts.eu-west-1.vpce.amazonaws.com"
	for _, tc := range []struct {
		name   string
		client sts.Client
		from   string
		msg    string
		hints  []string
	}{{
		name:   "regional endpoint, DNS",
		client: sts.Client{API: dnsFailure, Endpoint: "https://sts.eu-west-1.amazonaws.com", Region: "eu-west-1"},
		msg:    "cannot resolve the STS host of https://sts.eu-west-1.amazonaws.com: no such host",
		hints:  []string{"check the region (eu-west-1) and this machine's DNS resolver; private subnets without internet access need a VPC interface endpoint for STS, passed with --sts-endpoint"},
	}, {
		name:   "--sts-endpoint, DNS",
		client: sts.Client{API: dnsFailure, Endpoint: vpce, Override: true, Region: "eu-west-1"},
		from:   "--sts-endpoint",
		msg:    "cannot resolve the STS host of " + vpce + ": no such host",
		hints:  []string{"check the host name in --sts-endpoint: a VPC interface endpoint's DNS name (vpce-….sts.REGION.vpce.amazonaws.com) is listed in the VPC console under Endpoints, and stops resolving once the endpoint is deleted"},
	}, {
		name:   "AWS_ENDPOINT_URL_STS, DNS, through a proxy",
		client: sts.Client{API: dnsFailure, Endpoint: vpce, Override: true, Region: "eu-west-1", Proxy: "http://proxy:3128"},
		from:   "AWS_ENDPOINT_URL_STS",
		msg:    "cannot resolve the STS host of " + vpce + ": no such host",
		hints: []string{
			"check the host name in AWS_ENDPOINT_URL_STS: a VPC interface endpoint's DNS name (vpce-….sts.REGION.vpce.amazonaws.com) is listed in the VPC console under Endpoints, and stops resolving once the endpoint is deleted",
			"requests to STS go through the proxy http://proxy:3128 (HTTPS_PROXY); NO_PROXY lists hosts that bypass it",
		},
	}, {
		name:   "regional endpoint, unreachable",
		client: sts.Client{API: refused, Endpoint: "https://sts.eu-west-1.amazonaws.com", Region: "eu-west-1"},
		msg:    "cannot reach STS at https://sts.eu-west-1.amazonaws.com: connection refused",
		hints:  []string{"check that this workload can reach https://sts.eu-west-1.amazonaws.com (firewall rules, Cloud NAT for VMs without an external address, or a VPC interface endpoint with --sts-endpoint)"},
	}, {
		name:   "--sts-endpoint, unreachable",
		client: sts.Client{API: refused, Endpoint: vpce, Override: true, Region: "eu-west-1"},
		from:   "--sts-endpoint",
		msg:    "cannot reach STS at " + vpce + ": connection refused",
		hints:  []string{"check that this workload can reach " + vpce + ", given by --sts-endpoint (firewall rules, the route to it, and for a VPC interface endpoint its security group, which must admit HTTPS from here)"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.client.Exchange(context.Background(), secret.New("a.b.c"), sts.Request{RoleARN: "arn:aws:iam::123456789012:role/r", SessionName: "s1"})
			err = (&explain.Given{EndpointFrom: tc.from}).Explain(err)
			if err == nil || err.Error() != tc.msg {
				t.Errorf("message %v, want %q", err, tc.msg)
			}
			if diff := cmp.Diff(tc.hints, explain.Hints(err)); diff != "" {
				t.Errorf("hints (-want +got):\n%s", diff)
			}
		})
	}
}

// TestQuoteAndCommand: a value is quoted as it was given, and a command a
// hint names repeats the arguments that decide the token, quoted for a
// shell.
func TestQuoteAndCommand(t *testing.T) {
	g := &explain.Given{As: map[string]string{"timeout": "GCP_AWS_CRED_TIMEOUT=0"}, TokenArgs: []string{"--impersonate", "a@p.iam.gserviceaccount.com", "--audience", "it's $(x)"}}
	if got := g.Explain(explain.Quote("timeout", 0, "%s must be positive")).Error(); got != "GCP_AWS_CRED_TIMEOUT=0 must be positive" {
		t.Errorf("Quote: %q", got)
	}
	if got := explain.Quote("timeout", 0, "%s must be positive").Error(); got != "--timeout 0 must be positive" {
		t.Errorf("Quote unexplained: %q", got)
	}
	want := "`gcp-aws-cred trust-policy --impersonate a@p.iam.gserviceaccount.com --audience 'it'\\''s $(x)'`"
	if got := g.Command("trust-policy"); got != want {
		t.Errorf("Command = %s, want %s", got, want)
	}
}

// hopAPI answers AssumeRole with an error code no message knows.
type hopAPI struct{ sts.APIFunc }

func (hopAPI) AssumeRole(context.Context, *awssts.AssumeRoleInput, ...func(*awssts.Options)) (*awssts.AssumeRoleOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "Mystery", Message: "what happened"}
}

// TestUnknownCodeNamesTheCall: a code with no words of its own is told
// with the call STS refused, so a chained hop says AssumeRole.
func TestUnknownCodeNamesTheCall(t *testing.T) {
	c := &sts.Client{API: hopAPI{}, Endpoint: "https://sts.us-east-1.amazonaws.com", Region: "us-east-1"}
	_, err := c.AssumeRole(context.Background(), awscred.Credentials{}, sts.Request{RoleARN: "arn:aws:iam::123456789012:role/next", SessionName: "s1"}, "")
	got := (&explain.Given{}).Explain(err)
	want := "STS at https://sts.us-east-1.amazonaws.com refused AssumeRole for arn:aws:iam::123456789012:role/next (Mystery: what happened)"
	if got.Error() != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if h := explain.Hints(got); len(h) == 0 || !strings.HasPrefix(h[0], "look the error code up in the AssumeRole API reference; ") {
		t.Errorf("hints = %q", h)
	}
}
