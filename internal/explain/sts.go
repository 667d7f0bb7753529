package explain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/regfile"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// stsAPI words an error code STS answered with. Every message says what
// the refusal means, then STS's own code and message.
func (g *Given) stsAPI(e *sts.Error) *Error {
	code, msg := clean.Flatten(e.Code, 64), clean.Flatten(e.Message, 300)
	account, roleName, _ := sts.ParseRoleARN(e.Role)
	base := func(what string) *Error {
		return Errorf(e, "%s (%s: %s)", what, code, msg)
	}
	switch code {
	case "AccessDenied":
		return base(fmt.Sprintf("STS refused to let this workload assume %s", e.Role)).
			Hint(g.trustHint(account))
	case "InvalidIdentityToken":
		x := base("STS rejected the Google ID token")
		switch {
		case strings.Contains(msg, "verification key"):
			x.Hint("STS could not fetch Google's signing keys (https://www.googleapis.com/oauth2/v3/certs) even after retries; this is usually transient: try again in a minute")
		case strings.Contains(msg, "OpenIDConnect provider"):
			x.Hint(`for Google tokens the trust policy's principal must be {"Federated": "accounts.google.com"}, which IAM knows without an identity provider; an OIDC provider for accounts.google.com in IAM is not needed and not used`)
		case strings.Contains(strings.ToLower(msg), "audience"):
			x.Hint("the token's aud comes from --audience; the trust policy's accounts.google.com:oaud must equal it")
		default:
			x.Hint("check that the metadata server is Google's (GCE_METADATA_HOST unset on Google Cloud) and that this machine's clock is right")
		}
		return x
	case "ExpiredTokenException", "ExpiredToken":
		return base("the Google ID token had expired when STS checked it").
			Hint("the token is fetched fresh on every run and lives one hour, so this means clocks disagree: check this machine's time sync (chronyc tracking, timedatectl)")
	case "IDPRejectedClaim":
		return base(fmt.Sprintf("STS rejected a claim of the Google ID token for %s", e.Role)).
			Hint(g.trustHint(account))
	case "IDPCommunicationError":
		return base("STS could not reach Google to verify the token, also on retry").
			Hint("this is transient on AWS's side; try again in a minute")
	case "RegionDisabledException":
		return base(fmt.Sprintf("STS is not activated in %s for account %s", e.Region, account)).
			Hint("an administrator can activate it in the IAM console under Account settings → Security Token Service (STS) → Endpoints, or pick an active region with --region (or AWS_REGION)")
	case "MalformedPolicyDocument":
		return base("STS refused the session policy given with --policy").
			Hint("the session policy must be a valid IAM policy document; check it with: aws accessanalyzer validate-policy --policy-type IDENTITY_POLICY --policy-document file://policy.json")
	case "PackedPolicyTooLarge":
		return base("the session policies are too large once packed by STS").
			Hint("shorten --policy or pass fewer --policy-arn values; STS limits their packed size, not only their length")
	case "Throttling", "ThrottlingException", "RequestLimitExceeded":
		return base(fmt.Sprintf("STS at %s is throttling requests, also after retries", e.Endpoint)).
			Hint("many processes are fetching credentials at once; SDKs cache credentials until shortly before Expiration, so a longer --duration means fewer calls")
	case "ValidationError":
		if errors.Is(e, sts.ErrDurationTooLong) {
			return base(fmt.Sprintf("%s is longer than the maximum session duration of %s", g.quote("duration", e.Duration), e.Role)).
				Hint("use a shorter --duration (the default is 1h), or raise the role's limit (up to 12h): aws iam update-role --role-name " + roleName + " --max-session-duration 43200")
		}
		return base("STS refused the request as invalid").
			Hint("the message names the parameter STS objects to: check --role, --session-name, --duration, --policy and --policy-arn")
	}
	return base(fmt.Sprintf("STS at %s refused %s for %s", e.Endpoint, e.Op, e.Role)).
		Hint("look the error code up in the " + e.Op + " API reference; " + g.Command("doctor", "--role", "…") + " shows each step with the values involved")
}

// trustHint is what can be said about a refusal without the token's claims;
// internal/cred, which holds them, adds the policy they would need.
func (g *Given) trustHint(account string) string {
	return fmt.Sprintf("also check that the role exists in account %s, and that the principal is {\"Federated\": \"accounts.google.com\"}; %s shows the whole chain", account, g.Command("doctor", "--role", "…"))
}

// stsCall words a call that failed without an STS error code: the
// network, TLS, the deadline, or an answer that is not STS's.
func (g *Given) stsCall(e *sts.Error) *Error {
	err := e.Err
	if answer, ok := errors.AsType[*sts.AnswerError](err); ok {
		if answer.Incomplete {
			return Errorf(e, "the answer from STS at %s has no complete credentials", e.Endpoint).
				Hint("the endpoint may not be AWS STS: check --sts-endpoint, AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL")
		}
		x := Errorf(e, "the answer from STS at %s is not plausible: %s", e.Endpoint, answer.Detail).
			Hint("AWS STS issues access key IDs of 16 to 128 letters and digits, 40-character secret keys, session tokens of a few KB, and an Expiration the duration asked for from now; this answer came from something else: check " + g.suspects(e))
		switch {
		case answer.ClockAhead:
			x.Hint("if this machine's clock is far ahead, fix time sync (timedatectl, chronyc tracking)")
		case answer.ClockBehind:
			x.Hint("if this machine's clock is far behind, fix time sync (timedatectl, chronyc tracking)")
		}
		return x
	}
	if tooLarge, ok := errors.AsType[*transport.TooLargeError](err); ok {
		return Errorf(err, "the answer from STS at %s is larger than %s; AWS STS answers in a few KB", e.Endpoint, transport.Size(tooLarge.Limit)).
			Hint("something other than AWS STS answered: check " + g.suspects(e)).
			Hint(proxyHint(e)...)
	}
	if notLoopback, ok := errors.AsType[*transport.NotLoopbackError](err); ok {
		return Errorf(err, "refusing cleartext STS endpoint %s: its host name resolved to %s, which is not a loopback address, and the ID token is a bearer credential", e.Endpoint, notLoopback.Addr).
			Hint("use https://, or a loopback address such as http://127.0.0.1:PORT: a name like localhost is only as trustworthy as /etc/hosts and DNS")
	}
	if x := interrupted(err, "STS at "+e.Endpoint, g.networkHints(e)...); x != nil {
		return x
	}
	var resp *awshttp.ResponseError
	if errors.As(err, new(*smithy.DeserializationError)) {
		status, ctype, location := 0, "no content type", "nowhere"
		if errors.As(err, &resp) && resp.Response != nil {
			status, ctype = resp.HTTPStatusCode(), contentType(resp)
			location = cmp.Or(clean.Flatten(resp.Response.Header.Get("Location"), 200), location)
		}
		from := g.endpointFrom(e)
		if status >= 300 && status < 400 {
			hint := "AWS STS does not redirect: a proxy or captive portal in between answered instead"
			if from != "" {
				hint = fmt.Sprintf("AWS STS does not redirect: check the endpoint given by %s, and any proxy in between", from)
			}
			return Errorf(e, "STS at %s answered with a redirect (HTTP %d to %s), which is not followed: the request carries the token", e.Endpoint, status, location).
				Hint(hint).
				Hint(proxyHint(e)...)
		}
		x := Errorf(e, "the answer from %s (HTTP %d, %s) is not an STS response", e.Endpoint, status, ctype)
		if status >= 500 {
			// An error page, also on retry: something failed on the
			// way, which is no reason to suspect a captive portal.
			return x.Hint(fmt.Sprintf("a server error page (HTTP %d), also on retry: a load balancer or proxy between here and STS, or STS itself, is failing; try again later", status)).
				Hint(proxyHint(e)...)
		}
		hint := "something other than AWS STS answered: a captive portal or proxy login page"
		if from != "" {
			hint = fmt.Sprintf("something other than AWS STS answered: a captive portal or proxy login page, or the endpoint given by %s names another service", from)
		}
		return x.Hint(hint).
			Hint(proxyHint(e)...)
	}
	if tlsErr := transport.TLSFailure(err); tlsErr != "" {
		x := Errorf(e, "TLS to STS at %s failed: %s", e.Endpoint, tlsErr)
		if e.Proxy != "" {
			x.Hint(fmt.Sprintf("requests go through the proxy %s; if it inspects TLS, set AWS_CA_BUNDLE to its CA certificate (PEM)", e.Proxy))
		} else {
			x.Hint("if a TLS-inspecting proxy or a private CA sits in front of this endpoint, set AWS_CA_BUNDLE to its CA certificate (PEM)")
		}
		return x.Hint("for a VPC interface endpoint, use its DNS name (vpce-….sts.REGION.vpce.amazonaws.com) so the certificate matches")
	}
	if dns, ok := errors.AsType[*net.DNSError](err); ok {
		hint := fmt.Sprintf("check the region (%s) and this machine's DNS resolver; private subnets without internet access need a VPC interface endpoint for STS, passed with --sts-endpoint", e.Region)
		if from := g.endpointFrom(e); from != "" {
			hint = fmt.Sprintf("check the host name in %s: a VPC interface endpoint's DNS name (vpce-….sts.REGION.vpce.amazonaws.com) is listed in the VPC console under Endpoints, and stops resolving once the endpoint is deleted", from)
		}
		return Errorf(e, "cannot resolve the STS host of %s: %s", e.Endpoint, dns.Err).
			Hint(hint).
			Hint(proxyHint(e)...)
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() >= 500 {
		return Errorf(e, "STS at %s failed with HTTP %d, also on retry", e.Endpoint, status.HTTPStatusCode()).
			Hint("AWS STS is having trouble in this region; try again, or use another --region")
	}
	cause := clean.Flatten(Cause(err), 200)
	if strings.Contains(err.Error(), "malformed HTTP") {
		return Errorf(e, "the answer from STS at %s is not well-formed HTTP: %s", e.Endpoint, cause).
			Hint("something other than AWS STS answered: check " + g.suspects(e)).
			Hint(proxyHint(e)...)
	}
	// An answer came, but could not be read: STS was reached, so this is
	// not a network problem.
	if errors.As(err, &resp) && resp.HTTPStatusCode() != 0 {
		return Errorf(e, "the answer from STS at %s (HTTP %d, %s) could not be read: %s", e.Endpoint, resp.HTTPStatusCode(), contentType(resp), cause).
			Hint("AWS STS answers well-formed XML; something sent something else or cut the answer short: check " + g.suspects(e)).
			Hint(proxyHint(e)...)
	}
	return Errorf(e, "cannot reach STS at %s: %s", e.Endpoint, cause).
		Hint(g.networkHints(e)...)
}

// contentType is the answer's Content-Type, for a message.
func contentType(resp *awshttp.ResponseError) string {
	return cmp.Or(clean.Flatten(resp.Response.Header.Get("Content-Type"), 100), "no content type")
}

// endpointFrom names what gave an overridden endpoint, or "" for STS's own.
func (g *Given) endpointFrom(e *sts.Error) string {
	if !e.Override {
		return ""
	}
	return cmp.Or(g.EndpointFrom, "an endpoint override")
}

func (g *Given) networkHints(e *sts.Error) []string {
	h := fmt.Sprintf("check that this workload can reach %s (firewall rules, Cloud NAT for VMs without an external address, or a VPC interface endpoint with --sts-endpoint)", e.Endpoint)
	if from := g.endpointFrom(e); from != "" {
		h = fmt.Sprintf("check that this workload can reach %s, given by %s (firewall rules, the route to it, and for a VPC interface endpoint its security group, which must admit HTTPS from here)", e.Endpoint, from)
	}
	return append([]string{h}, proxyHint(e)...)
}

// suspects says what to check when the answer cannot have come from AWS
// STS: the endpoint override that was given, else what lies between.
func (g *Given) suspects(e *sts.Error) string {
	if from := g.endpointFrom(e); from != "" {
		return fmt.Sprintf("the endpoint given by %s, and any proxy in between", from)
	}
	return "any proxy or TLS-inspecting middlebox between this workload and " + e.Endpoint
}

// proxyHint names the proxy in the way, if any.
func proxyHint(e *sts.Error) []string {
	if e.Proxy == "" {
		return nil
	}
	return []string{fmt.Sprintf("requests to STS go through the proxy %s (HTTPS_PROXY); NO_PROXY lists hosts that bypass it", e.Proxy)}
}

// stsParam words a value sts refused before sending anything.
func (g *Given) stsParam(e *sts.ParamError) *Error {
	switch e.Param {
	case sts.RoleArn:
		if e.Problem == sts.Missing {
			return Errorf(e, "no role to assume").
				Hint("pass --role arn:aws:iam::ACCOUNT:role/NAME, or set GCP_AWS_CRED_ROLE")
		}
		x := Errorf(e, "--role %q is not an IAM role ARN", e.Value)
		switch {
		case e.Want != "" && e.Part != "":
			x.Hint(fmt.Sprintf("%s: the role's ARN is %s", e.Part, e.Want))
		case e.Part != "":
			x.Hint(e.Part)
		}
		return x.Hint("a role ARN looks like arn:aws:iam::123456789012:role/NAME (or arn:aws-cn:…, arn:aws-us-gov:…, with an optional path: role/PATH/NAME)",
			"copy it from the role's summary page in the IAM console, or: aws iam get-role --role-name NAME --query Role.Arn")
	case sts.RoleSessionName:
		return Errorf(e, "--session-name %q is not a valid role session name", e.Value).
			Hint("use 2 to 64 characters from letters, digits and _+=,.@-")
	case sts.DurationSeconds:
		as := g.quote("duration", e.Duration)
		if e.Problem == sts.NotWholeSeconds {
			return Errorf(e, "%s is not a whole number of seconds", as).
				Hint("STS takes whole seconds: write it like 90m, 1h30m or 5400s")
		}
		x := Errorf(e, "%s is out of range: STS issues sessions of 15m to 12h", as)
		switch {
		case e.Problem == sts.TooLong:
			return x.Hint("12h (43200 seconds) is the most STS issues, and only for a role whose maximum session duration is 12h; " + g.Command("doctor", "--role", "…", "--duration", "12h") + " finds the role's maximum")
		case e.Duration == 0:
			// STS would take a missing duration as its default; an
			// explicit zero is more likely a mistake.
			return x.Hint("leave --duration out for the default, 1h")
		}
		return x.Hint("the default, 1h, suits credential_process: SDKs refresh 5 to 15 minutes before expiry, so a session of 15m makes them call gcp-aws-cred on nearly every request")
	case sts.Policy:
		if e.Problem == sts.TooLong {
			return Errorf(e, "--policy is %d characters; STS accepts at most %d", e.N, e.Max).
				Hint("move statements into a managed policy and pass it with --policy-arn")
		}
		return Errorf(e, "--policy is not a JSON policy document").
			Hint(`a session policy looks like {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	case sts.PolicyArns:
		if e.Problem == sts.TooMany {
			return Errorf(e, "%d --policy-arn values; STS accepts at most %d", e.N, e.Max).
				Hint("combine them into fewer managed policies, or narrow the role itself")
		}
		return Errorf(e, "--policy-arn %q is not an IAM policy ARN", e.Value).
			Hint("a managed policy ARN looks like arn:aws:iam::123456789012:policy/NAME or arn:aws:iam::aws:policy/ReadOnlyAccess")
	case sts.WebIdentityToken:
		return Errorf(e, "the token is %d characters; STS accepts at most %d, so it was not sent", e.N, e.Max).
			Hint("a Google ID token is about 1 KB; check where the token came from")
	case sts.Region:
		if e.Problem == sts.Unresolved {
			return Errorf(e, "no STS endpoint for region %q: %v", e.Value, e.Err).
				Hint("check --region (or AWS_REGION), or give the endpoint with --sts-endpoint")
		}
		return Errorf(e, "--region %q is not an AWS region", e.Value).
			Hint("regions look like us-east-1, eu-west-3, ap-northeast-1, cn-north-1, us-gov-west-1")
	case sts.Endpoint:
		switch e.Problem {
		case sts.UserInfo:
			return Errorf(e, "STS endpoint %s carries user information; refusing it", e.Value).
				Hint("remove user:password@ from the URL: STS takes no credentials in the URL, and they would end up in logs")
		case sts.Cleartext:
			return Errorf(e, "refusing cleartext STS endpoint %s: the ID token is a bearer credential and would cross the network unencrypted", e.Value).
				Hint(hintCleartext, "the endpoint came from --sts-endpoint, else AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL")
		}
		return Errorf(e, "STS endpoint %q is not an http(s) URL", e.Value).
			Hint("give a full URL, such as https://vpce-0123-abcd.sts.us-east-1.vpce.amazonaws.com (from --sts-endpoint, AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL)")
	}
	return nil
}

// caBundle words a CA bundle that could not be used.
func (g *Given) caBundle(e *sts.CABundleError) *Error {
	hint := "AWS_CA_BUNDLE (or --ca-bundle) must name a readable PEM file"
	if errors.Is(e.Err, sts.ErrNoCertificate) {
		return Errorf(e, "CA bundle %s holds no PEM certificate", e.Path).
			Hint("the file must contain one or more -----BEGIN CERTIFICATE----- blocks")
	}
	x := File(e.Err, "CA bundle "+e.Path, hint)
	if errors.Is(e.Err, context.DeadlineExceeded) {
		x.Hint(g.runDeadline())
	}
	if errors.As(e.Err, new(*regfile.TooLargeError)) {
		x.Hints = []string{"a bundle of every public CA is about 200 KB; check that AWS_CA_BUNDLE (or --ca-bundle) names the PEM file meant"}
	}
	x.Err = e
	return x
}
