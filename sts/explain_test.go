package sts

import (
	"context"
	"fmt"
	"net"
	"testing"

	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// TestHintsKnowTheEndpointsSource: a hint never tells a user to pass the
// flag they passed. With STS's own endpoint, a failure to resolve it points
// at the region and at a VPC endpoint; with an endpoint the user gave, at
// that endpoint and where it came from.
func TestHintsKnowTheEndpointsSource(t *testing.T) {
	dnsFailure := APIFunc(func(context.Context, *awssts.AssumeRoleWithWebIdentityInput, ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
		return nil, fmt.Errorf("operation error STS: AssumeRoleWithWebIdentity, https response error: %w",
			&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}})
	})
	refused := APIFunc(func(context.Context, *awssts.AssumeRoleWithWebIdentityInput, ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
		return nil, fmt.Errorf("operation error STS: AssumeRoleWithWebIdentity: %w",
			&net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("connect: connection refused")})
	})
	const vpce = "https://vpce-0123456789abcdef0-abcdefgh.sts.eu-west-1.vpce.amazonaws.com"
	for _, tc := range []struct {
		name   string
		client Client
		msg    string
		hints  []string
	}{{
		name:   "regional endpoint, DNS",
		client: Client{API: dnsFailure, Endpoint: "https://sts.eu-west-1.amazonaws.com", Region: "eu-west-1"},
		msg:    "cannot resolve the STS host of https://sts.eu-west-1.amazonaws.com: no such host",
		hints:  []string{"check the region (eu-west-1) and this machine's DNS resolver; private subnets without internet access need a VPC interface endpoint for STS, passed with --sts-endpoint"},
	}, {
		name:   "--sts-endpoint, DNS",
		client: Client{API: dnsFailure, Endpoint: vpce, EndpointFrom: "--sts-endpoint", Region: "eu-west-1"},
		msg:    "cannot resolve the STS host of " + vpce + ": no such host",
		hints:  []string{"check the host name in --sts-endpoint: a VPC interface endpoint's DNS name (vpce-….sts.REGION.vpce.amazonaws.com) is listed in the VPC console under Endpoints, and stops resolving once the endpoint is deleted"},
	}, {
		name:   "AWS_ENDPOINT_URL_STS, DNS, through a proxy",
		client: Client{API: dnsFailure, Endpoint: vpce, EndpointFrom: "AWS_ENDPOINT_URL_STS", Region: "eu-west-1", Proxy: "http://proxy:3128"},
		msg:    "cannot resolve the STS host of " + vpce + ": no such host",
		hints: []string{
			"check the host name in AWS_ENDPOINT_URL_STS: a VPC interface endpoint's DNS name (vpce-….sts.REGION.vpce.amazonaws.com) is listed in the VPC console under Endpoints, and stops resolving once the endpoint is deleted",
			"requests to STS go through the proxy http://proxy:3128 (HTTPS_PROXY); NO_PROXY lists hosts that bypass it",
		},
	}, {
		name:   "regional endpoint, unreachable",
		client: Client{API: refused, Endpoint: "https://sts.eu-west-1.amazonaws.com", Region: "eu-west-1"},
		msg:    "cannot reach STS at https://sts.eu-west-1.amazonaws.com: connection refused",
		hints:  []string{"check that this workload can reach https://sts.eu-west-1.amazonaws.com (firewall rules, Cloud NAT for VMs without an external address, or a VPC interface endpoint with --sts-endpoint)"},
	}, {
		name:   "--sts-endpoint, unreachable",
		client: Client{API: refused, Endpoint: vpce, EndpointFrom: "--sts-endpoint", Region: "eu-west-1"},
		msg:    "cannot reach STS at " + vpce + ": connection refused",
		hints:  []string{"check that this workload can reach " + vpce + ", given by --sts-endpoint (firewall rules, the route to it, and for a VPC interface endpoint its security group, which must admit HTTPS from here)"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.client.Exchange(context.Background(), secret.New("a.b.c"), Request{RoleARN: role, SessionName: "s1"})
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.msg {
				t.Errorf("message %q, want %q", err.Error(), tc.msg)
			}
			if diff := cmp.Diff(tc.hints, fail.Hints(err)); diff != "" {
				t.Errorf("hints (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNewNamesTheEndpointsSource: the client remembers whether the endpoint
// was given, and by what, so its hints can say so.
func TestNewNamesTheEndpointsSource(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Region: "eu-west-1"}, ""},
		{Config{Region: "eu-west-1", EndpointFrom: "AWS_ENDPOINT_URL"}, ""}, // no endpoint: the source is moot
		{Config{Endpoint: "https://vpce-1.sts.eu-west-1.vpce.amazonaws.com", EndpointFrom: "--sts-endpoint"}, "--sts-endpoint"},
		{Config{Endpoint: "https://vpce-1.sts.eu-west-1.vpce.amazonaws.com"}, "an endpoint override"},
	} {
		c, err := New(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if c.EndpointFrom != tc.want {
			t.Errorf("New(%+v).EndpointFrom = %q, want %q", tc.cfg, c.EndpointFrom, tc.want)
		}
	}
}
