package sts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// explain turns an SDK error into a message for the person who has to fix
// it, naming the endpoint and role involved. ctx is the request's, for what
// set its deadline.
func (c *Client) explain(ctx context.Context, err error, req Request) error {
	var tooLarge *transport.TooLargeError
	if errors.As(err, &tooLarge) {
		return fail.Errorf(err, "the answer from STS at %s is larger than %s; AWS STS answers in a few KB", c.Endpoint, transport.Size(tooLarge.Limit)).
			Hint("something other than AWS STS answered: check " + c.suspects()).
			Hint(c.proxyHint()...)
	}
	var notLoopback *transport.NotLoopbackError
	if errors.As(err, &notLoopback) {
		return fail.Errorf(err, "refusing cleartext STS endpoint %s: its host name resolved to %s, which is not a loopback address, and the ID token is a bearer credential", c.Endpoint, notLoopback.Addr).
			Hint("use https://, or a loopback address such as http://127.0.0.1:PORT: a name like localhost is only as trustworthy as /etc/hosts and DNS")
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return c.explainAPI(err, api, req)
	}
	var deser *smithy.DeserializationError
	var resp *awshttp.ResponseError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fail.Errorf(err, "no answer from STS at %s before the deadline", c.Endpoint).
			Hint(c.networkHints()...).
			Hint(transport.DeadlineHint(ctx))
	case errors.Is(err, context.Canceled):
		return fail.Errorf(err, "interrupted while waiting for STS at %s", c.Endpoint)
	case errors.As(err, &deser):
		status, ctype, location := 0, "", ""
		if errors.As(err, &resp) && resp.Response != nil {
			status, ctype, location = resp.HTTPStatusCode(), fail.Flatten(resp.Response.Header.Get("Content-Type"), 100), fail.Flatten(resp.Response.Header.Get("Location"), 200)
		}
		if status >= 300 && status < 400 {
			if location == "" {
				location = "nowhere"
			}
			hint := "AWS STS does not redirect: a proxy or captive portal in between answered instead"
			if c.EndpointFrom != "" {
				hint = fmt.Sprintf("AWS STS does not redirect: check the endpoint given by %s, and any proxy in between", c.EndpointFrom)
			}
			return fail.Errorf(err, "STS at %s answered with a redirect (HTTP %d to %s), which is not followed: the request carries the token", c.Endpoint, status, location).
				Hint(hint).
				Hint(c.proxyHint()...)
		}
		if ctype == "" {
			ctype = "no content type"
		}
		e := fail.Errorf(err, "the answer from %s (HTTP %d, %s) is not an STS response", c.Endpoint, status, ctype)
		if status >= 500 {
			// An error page, also on retry: something failed on the
			// way, which is no reason to suspect a captive portal.
			return e.Hint(fmt.Sprintf("a server error page (HTTP %d), also on retry: a load balancer or proxy between here and STS, or STS itself, is failing; try again later", status)).
				Hint(c.proxyHint()...)
		}
		hint := "something other than AWS STS answered: a captive portal or proxy login page"
		if c.EndpointFrom != "" {
			hint = fmt.Sprintf("something other than AWS STS answered: a captive portal or proxy login page, or the endpoint given by %s names another service", c.EndpointFrom)
		}
		return e.Hint(hint).
			Hint(c.proxyHint()...)
	}
	if tlsErr := tlsCause(err); tlsErr != "" {
		e := fail.Errorf(err, "TLS to STS at %s failed: %s", c.Endpoint, tlsErr)
		if c.Proxy != "" {
			e.Hint(fmt.Sprintf("requests go through the proxy %s; if it inspects TLS, set AWS_CA_BUNDLE to its CA certificate (PEM)", c.Proxy))
		} else {
			e.Hint("if a TLS-inspecting proxy or a private CA sits in front of this endpoint, set AWS_CA_BUNDLE to its CA certificate (PEM)")
		}
		return e.Hint("for a VPC interface endpoint, use its DNS name (vpce-….sts.REGION.vpce.amazonaws.com) so the certificate matches")
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		hint := fmt.Sprintf("check the region (%s) and this machine's DNS resolver; private subnets without internet access need a VPC interface endpoint for STS, passed with --sts-endpoint", c.Region)
		if c.EndpointFrom != "" {
			hint = fmt.Sprintf("check the host name in %s: a VPC interface endpoint's DNS name (vpce-….sts.REGION.vpce.amazonaws.com) is listed in the VPC console under Endpoints, and stops resolving once the endpoint is deleted", c.EndpointFrom)
		}
		return fail.Errorf(err, "cannot resolve the STS host of %s: %s", c.Endpoint, dns.Err).
			Hint(hint).
			Hint(c.proxyHint()...)
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() >= 500 {
		return fail.Errorf(err, "STS at %s failed with HTTP %d, also on retry", c.Endpoint, status.HTTPStatusCode()).
			Hint("AWS STS is having trouble in this region; try again, or use another --region")
	}
	cause := fail.Flatten(fail.Cause(err), 200)
	if strings.Contains(err.Error(), "malformed HTTP") {
		return fail.Errorf(err, "the answer from STS at %s is not well-formed HTTP: %s", c.Endpoint, cause).
			Hint("something other than AWS STS answered: check " + c.suspects()).
			Hint(c.proxyHint()...)
	}
	// An answer came, but could not be read: STS was reached, so this is
	// not a network problem.
	if errors.As(err, &resp) && resp.HTTPStatusCode() != 0 {
		ctype := fail.Flatten(resp.Response.Header.Get("Content-Type"), 100)
		if ctype == "" {
			ctype = "no content type"
		}
		return fail.Errorf(err, "the answer from STS at %s (HTTP %d, %s) could not be read: %s", c.Endpoint, resp.HTTPStatusCode(), ctype, cause).
			Hint("AWS STS answers well-formed XML; something sent something else or cut the answer short: check " + c.suspects()).
			Hint(c.proxyHint()...)
	}
	return fail.Errorf(err, "cannot reach STS at %s: %s", c.Endpoint, cause).
		Hint(c.networkHints()...)
}

func (c *Client) explainAPI(err error, api smithy.APIError, req Request) error {
	// Both come from the peer. Validation messages can quote the offending
	// value, the token among them: secrets are taken out before the message
	// is cut (as a metadata server's body is: a 3 MB message was printed
	// whole), so the cut cannot leave a piece too short to recognise, and
	// what STS said after the token is still shown.
	code, msg := fail.Flatten(secret.Redact(api.ErrorCode()), 64), fail.Flatten(secret.Redact(api.ErrorMessage()), 300)
	account, roleName, _ := ParseRoleARN(req.RoleARN)
	cause := err
	if kind := kindOf(code, msg); kind != nil {
		cause = errors.Join(kind, err)
	}
	// Every message says what the refusal means, then STS's own code and
	// message.
	base := func(what string) *fail.Error {
		return fail.Errorf(cause, "%s (%s: %s)", what, code, msg)
	}
	switch code {
	case "AccessDenied":
		return base(fmt.Sprintf("STS refused to let this workload assume %s", req.RoleARN)).
			Hint(trustHint(account))
	case "InvalidIdentityToken":
		e := base("STS rejected the Google ID token")
		switch {
		case strings.Contains(msg, "verification key"):
			e.Hint("STS could not fetch Google's signing keys (https://www.googleapis.com/oauth2/v3/certs) even after retries; this is usually transient: try again in a minute")
		case strings.Contains(msg, "OpenIDConnect provider"):
			e.Hint(`for Google tokens the trust policy's principal must be {"Federated": "accounts.google.com"}, which IAM knows without an identity provider; an OIDC provider for accounts.google.com in IAM is not needed and not used`)
		case strings.Contains(strings.ToLower(msg), "audience"):
			e.Hint("the token's aud comes from --audience; the trust policy's accounts.google.com:oaud must equal it")
		default:
			e.Hint("check that the metadata server is Google's (GCE_METADATA_HOST unset on Google Cloud) and that this machine's clock is right")
		}
		return e
	case "ExpiredTokenException", "ExpiredToken":
		return base("the Google ID token had expired when STS checked it").
			Hint("the token is fetched fresh on every run and lives one hour, so this means clocks disagree: check this machine's time sync (chronyc tracking, timedatectl)")
	case "IDPRejectedClaim":
		return base(fmt.Sprintf("STS rejected a claim of the Google ID token for %s", req.RoleARN)).
			Hint(trustHint(account))
	case "IDPCommunicationError":
		return base("STS could not reach Google to verify the token, also on retry").
			Hint("this is transient on AWS's side; try again in a minute")
	case "RegionDisabledException":
		return base(fmt.Sprintf("STS is not activated in %s for account %s", c.Region, account)).
			Hint("an administrator can activate it in the IAM console under Account settings → Security Token Service (STS) → Endpoints, or pick an active region with --region (or AWS_REGION)")
	case "MalformedPolicyDocument":
		return base("STS refused the session policy given with --policy").
			Hint("the session policy must be a valid IAM policy document; check it with: aws accessanalyzer validate-policy --policy-type IDENTITY_POLICY --policy-document file://policy.json")
	case "PackedPolicyTooLarge":
		return base("the session policies are too large once packed by STS").
			Hint("shorten --policy or pass fewer --policy-arn values; STS limits their packed size, not only their length")
	case "Throttling", "ThrottlingException", "RequestLimitExceeded":
		return base(fmt.Sprintf("STS at %s is throttling requests, also after retries", c.Endpoint)).
			Hint("many processes are fetching credentials at once; SDKs cache credentials until shortly before Expiration, so a longer --duration means fewer calls")
	case "ValidationError":
		if errors.Is(cause, ErrDurationTooLong) {
			return base(fmt.Sprintf("--duration %s is longer than the maximum session duration of %s", req.Duration, req.RoleARN)).
				Hint("use a shorter --duration (the default is 1h), or raise the role's limit (up to 12h): aws iam update-role --role-name " + roleName + " --max-session-duration 43200")
		}
		return base("STS refused the request as invalid").
			Hint("the message names the parameter STS objects to: check --role, --session-name, --duration, --policy and --policy-arn")
	}
	return base(fmt.Sprintf("STS at %s refused AssumeRoleWithWebIdentity for %s", c.Endpoint, req.RoleARN)).
		Hint("look the error code up in the AssumeRoleWithWebIdentity API reference; `gcp-aws-cred doctor --role …` shows each step with the values involved")
}

// trustHint is what can be said about a refusal without the token's claims;
// the caller, which holds them, adds the policy they would need.
func trustHint(account string) string {
	return fmt.Sprintf("also check that the role exists in account %s, and that the principal is {\"Federated\": \"accounts.google.com\"}; `gcp-aws-cred doctor --role …` shows the whole chain", account)
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func tlsCause(err error) string {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	switch {
	case errors.As(err, &unknown):
		return "the certificate is signed by an unknown authority"
	case errors.As(err, &host):
		return "the " + strings.TrimPrefix(host.Error(), "x509: ")
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired {
			return "the certificate has expired or is not yet valid (check this machine's clock)"
		}
		return invalid.Error()
	case errors.As(err, &verify):
		return verify.Err.Error()
	case errors.As(err, &record), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "the server does not speak TLS (is the endpoint http://?)"
	}
	return ""
}

func (c *Client) networkHints() []string {
	h := fmt.Sprintf("check that this workload can reach %s (firewall rules, Cloud NAT for VMs without an external address, or a VPC interface endpoint with --sts-endpoint)", c.Endpoint)
	if c.EndpointFrom != "" {
		h = fmt.Sprintf("check that this workload can reach %s, given by %s (firewall rules, the route to it, and for a VPC interface endpoint its security group, which must admit HTTPS from here)", c.Endpoint, c.EndpointFrom)
	}
	return append([]string{h}, c.proxyHint()...)
}

// suspects says what to check when the answer cannot have come from AWS
// STS: the endpoint override that was given, else what lies between.
func (c *Client) suspects() string {
	if c.EndpointFrom != "" {
		return fmt.Sprintf("the endpoint given by %s, and any proxy in between", c.EndpointFrom)
	}
	return "any proxy or TLS-inspecting middlebox between this workload and " + c.Endpoint
}

// proxyHint names the proxy in the way, if any.
func (c *Client) proxyHint() []string {
	if c.Proxy == "" {
		return nil
	}
	return []string{fmt.Sprintf("requests to STS go through the proxy %s (HTTPS_PROXY); NO_PROXY lists hosts that bypass it", c.Proxy)}
}
