package sts

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/regfile"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// DefaultRegion is used when neither --region nor AWS_REGION nor
// AWS_DEFAULT_REGION says otherwise, as the AWS CLI does for STS.
const DefaultRegion = "us-east-1"

// API is the one STS call we make; *awssts.Client satisfies it and tests can
// stand in a function.
type API interface {
	AssumeRoleWithWebIdentity(ctx context.Context, in *awssts.AssumeRoleWithWebIdentityInput, opts ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error)
}

// APIFunc adapts a function to API.
type APIFunc func(ctx context.Context, in *awssts.AssumeRoleWithWebIdentityInput, opts ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error)

// AssumeRoleWithWebIdentity calls f.
func (f APIFunc) AssumeRoleWithWebIdentity(ctx context.Context, in *awssts.AssumeRoleWithWebIdentityInput, opts ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
	return f(ctx, in, opts...)
}

// Config says where and how to reach STS.
type Config struct {
	// Region of the STS endpoint; empty means DefaultRegion.
	Region string
	// Endpoint overrides the resolved endpoint (a VPC interface endpoint, a
	// test fake). It must be https, or http on a loopback address.
	Endpoint string
	// EndpointFrom names the flag or variable Endpoint came from, for
	// messages: hints must not tell a user to pass what they passed.
	EndpointFrom string
	// FIPS selects the FIPS endpoint of Region.
	FIPS bool
	// CABundle is a PEM file whose certificates replace the system roots, as
	// AWS_CA_BUNDLE does for the AWS CLI and SDKs.
	CABundle string
	// MaxAttempts bounds tries per exchange, first included; 0 means 3.
	MaxAttempts int
	// BaseBackoff is the first retry's mean delay; 0 means 250ms. Each later
	// retry doubles it, with full jitter, up to 2s: a credential process is
	// waited on by a person or an SDK, so long sleeps help nobody.
	BaseBackoff time.Duration
	// Deadline is when New must have read CABundle by (the run's deadline;
	// New has no context, as it makes no request). Zero: no limit.
	Deadline time.Time
	// DeadlineHint says what set Deadline, with its value as the user gave
	// it, for the message when the CA bundle is not read by then.
	DeadlineHint string
	// Trace, when not nil, gets a line for every request.
	Trace *transport.Tracer
}

// Limits on what STS may send. Its answers are a few KB; a session token is
// a few KB at most. Anything far larger is a broken or hostile peer and is
// refused, never buffered or printed.
const (
	// MaxAnswer is the most bytes read from one answer (headers apart).
	MaxAnswer = 1 << 20
	// MaxCABundle is the largest CA bundle read; the system's is about
	// 200 KB.
	MaxCABundle = 4 << 20
)

// Client exchanges tokens at one STS endpoint.
type Client struct {
	// API makes the call; New sets an SDK client.
	API API
	// Endpoint is the URL requests go to, for messages.
	Endpoint string
	// EndpointFrom is the flag or variable that overrode the endpoint, or
	// "" for STS's own endpoint of Region, for messages.
	EndpointFrom string
	// Region is the region the endpoint belongs to, for messages.
	Region string
	// Proxy is the proxy requests to Endpoint go through, or "", for
	// messages.
	Proxy string
}

// validRegion accepts lower-case words joined by single dashes, at least two
// of them: the shape of every AWS region name.
func validRegion(r string) bool {
	words := strings.Split(r, "-")
	for _, w := range words {
		if w == "" || !allBytes(w, func(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }) {
			return false
		}
	}
	return len(words) >= 2
}

// New resolves the endpoint and builds an unsigned SDK client for it. It
// makes no network call, so every configuration mistake it finds is reported
// before a token is fetched.
func New(cfg Config) (*Client, error) {
	region := cfg.Region
	if region == "" {
		region = DefaultRegion
	}
	if !validRegion(region) {
		return nil, fail.Errorf(nil, "--region %q is not an AWS region", region).
			Hint("regions look like us-east-1, eu-west-3, ap-northeast-1, cn-north-1, us-gov-west-1")
	}
	endpoint, err := resolveEndpoint(region, cfg.Endpoint, cfg.FIPS)
	if err != nil {
		return nil, err
	}
	// The bundle only matters for TLS; reading and parsing it costs
	// milliseconds that a loopback http:// endpoint never needs.
	var pool *x509.CertPool
	if cfg.CABundle != "" && strings.HasPrefix(endpoint, "https://") {
		if pool, err = loadCABundle(cfg.CABundle, cfg.Deadline, cfg.DeadlineHint); err != nil {
			return nil, err
		}
	}
	// Our client, not the SDK's: the SDK's follows 307 and 308 redirects
	// with the body, to any URL, and the body carries the token
	// (transport.NewClient follows none).
	httpClient := transport.NewClient(transport.Policy{Peer: "STS endpoint", MaxBody: MaxAnswer, Proxy: true, RootCAs: pool, Trace: cfg.Trace})
	api := awssts.New(awssts.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		// The call is unsigned. Anonymous credentials keep the SDK from
		// looking for any: we are the credential source, and a lookup could
		// recurse into ourselves through ~/.aws/config.
		Credentials: aws.AnonymousCredentials{},
		HTTPClient:  httpClient,
		Retryer:     newRetryer(cfg),
	})
	from := ""
	if cfg.Endpoint != "" {
		from = cmp.Or(cfg.EndpointFrom, "an endpoint override")
	}
	return &Client{API: api, Endpoint: endpoint, EndpointFrom: from, Region: region, Proxy: proxyFor(endpoint)}, nil
}

// resolveEndpoint returns the STS URL for region: override when given (after
// checking it is safe), else the partition's regional or FIPS endpoint.
func resolveEndpoint(region, override string, fips bool) (string, error) {
	if override != "" {
		return checkOverride(override)
	}
	r, err := awssts.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(), awssts.EndpointParameters{
		Region:            aws.String(region),
		UseFIPS:           aws.Bool(fips),
		UseDualStack:      aws.Bool(false),
		UseGlobalEndpoint: aws.Bool(false),
	})
	if err != nil {
		return "", fail.Errorf(err, "no STS endpoint for region %q: %v", region, err).
			Hint("check --region (or AWS_REGION), or give the endpoint with --sts-endpoint")
	}
	return r.URI.String(), nil
}

// checkOverride refuses any endpoint that would send the token, a bearer
// credential, in cleartext beyond this machine.
func checkOverride(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fail.Errorf(err, "STS endpoint %q is not an http(s) URL", raw).
			Hint("give a full URL, such as https://vpce-0123-abcd.sts.us-east-1.vpce.amazonaws.com (from --sts-endpoint, AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL)")
	}
	if u.User != nil {
		return "", fail.Errorf(nil, "STS endpoint %s carries user information; refusing it", u.Scheme+"://"+u.Host).
			Hint("remove user:password@ from the URL: STS takes no credentials in the URL, and they would end up in logs")
	}
	if u.Scheme == "http" && !transport.IsLoopback(u.Hostname()) {
		return "", fail.Errorf(nil, "refusing cleartext STS endpoint %s: the ID token is a bearer credential and would cross the network unencrypted", raw).
			Hint("use https://; http:// is accepted only for loopback addresses (127.0.0.1, ::1, localhost), for local emulators",
				"the endpoint came from --sts-endpoint, else AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// loadCABundle reads a PEM bundle: only a regular file no larger than
// MaxCABundle, and not past deadline. A FIFO would block the open forever,
// /dev/zero would fill the memory, and a hung network file system would
// outlast --timeout.
func loadCABundle(path string, deadline time.Time, deadlineHint string) (*x509.CertPool, error) {
	hint := "AWS_CA_BUNDLE (or --ca-bundle) must name a readable PEM file"
	pem, err := regfile.Read(path, MaxCABundle, deadline)
	var big *regfile.TooLargeError
	var irregular *regfile.NotRegularError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return nil, fail.Errorf(context.DeadlineExceeded, "reading CA bundle %s did not finish before the deadline", path).
			Hint(hint + ", on a file system that answers").Hint(cmp.Or(deadlineHint, "the run's deadline is set by --timeout"))
	case errors.As(err, &big):
		return nil, fail.Errorf(err, "CA bundle %s is larger than %s", path, transport.Size(MaxCABundle)).
			Hint("a bundle of every public CA is about 200 KB; check that AWS_CA_BUNDLE (or --ca-bundle) names the PEM file meant")
	case errors.As(err, &irregular):
		return nil, fail.Errorf(err, "CA bundle %s is not a regular file (it is %s)", path, irregular.Kind).
			Hint(hint)
	case err != nil:
		cause := errors.Unwrap(err)
		if cause == nil {
			cause = err
		}
		return nil, fail.Errorf(err, "cannot read CA bundle %s: %v", path, cause).
			Hint(hint)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fail.Errorf(nil, "CA bundle %s holds no PEM certificate", path).
			Hint("the file must contain one or more -----BEGIN CERTIFICATE----- blocks")
	}
	return pool, nil
}

// proxyFor reports the proxy the SDK's transport will use for endpoint, so
// network errors can name it.
func proxyFor(endpoint string) string {
	req, err := http.NewRequest(http.MethodPost, endpoint, nil)
	if err != nil {
		return ""
	}
	u, err := http.ProxyFromEnvironment(req)
	if err != nil || u == nil {
		return ""
	}
	u.User = nil // never print proxy credentials
	return u.String()
}

// idpTransient are error codes STS gives when it could not reach Google to
// check the token; trying again usually works. IDPCommunicationError is the
// documented one; InvalidIdentityToken also covers "Couldn't retrieve
// verification key", so it is retried too, within MaxAttempts.
var idpTransient = retry.RetryableErrorCode{Codes: map[string]struct{}{
	"IDPCommunicationError": {},
	"InvalidIdentityToken":  {},
}}

func newRetryer(cfg Config) aws.Retryer {
	attempts := cmp.Or(cfg.MaxAttempts, transport.Attempts)
	base := cmp.Or(cfg.BaseBackoff, transport.BaseBackoff)
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.Backoff = jitterBackoff{base: base, max: transport.MaxBackoff}
		// The retry quota protects long-lived clients from retry storms; a
		// process that makes one call has nothing to protect.
		o.RateLimiter = ratelimit.None
		// The SDK treats every failed send as a connection error worth
		// retrying, and every 5xx as transient however it ended.
		o.Retryables = append([]retry.IsErrorRetryable{final}, append(o.Retryables, idpTransient)...)
	})
}

// final lists what a retry cannot fix: a certificate that does not
// verify, an answer over the cap (a 5xx with an endless body would be read
// three times), a cleartext endpoint that resolved off this machine.
var final = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	var tooLarge *transport.TooLargeError
	var notLoopback *transport.NotLoopbackError
	if tlsCause(err) != "" || errors.As(err, &tooLarge) || errors.As(err, &notLoopback) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
})

type jitterBackoff struct{ base, max time.Duration }

// BackoffDelay implements retry.BackoffDelayer with full jitter.
func (b jitterBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	return transport.Backoff(b.base, b.max, attempt, transport.Draw()), nil
}

// Exchange trades tok for credentials. The token travels only in the request
// body; no message built here contains it. A zero req.Duration leaves the
// duration to STS (one hour); the command line never sends zero.
func (c *Client) Exchange(ctx context.Context, tok secret.String, req Request) (awscred.Credentials, error) {
	if n := len(tok.Reveal()); n > MaxTokenLen {
		return awscred.Credentials{}, fail.Errorf(nil, "the token is %d characters; STS accepts at most %d, so it was not sent", n, MaxTokenLen).
			Hint("a Google ID token is about 1 KB; check where the token came from")
	}
	in := &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(req.RoleARN),
		RoleSessionName:  aws.String(req.SessionName),
		WebIdentityToken: aws.String(tok.Reveal()),
	}
	if req.Duration != 0 {
		in.DurationSeconds = aws.Int32(int32(req.Duration / time.Second))
	}
	if req.Policy != "" {
		in.Policy = aws.String(req.Policy)
	}
	for _, arn := range req.PolicyARNs {
		in.PolicyArns = append(in.PolicyArns, types.PolicyDescriptorType{Arn: aws.String(arn)})
	}
	out, err := c.API.AssumeRoleWithWebIdentity(ctx, in)
	if err != nil {
		return awscred.Credentials{}, c.explain(ctx, err, req)
	}
	return c.credentials(out, req)
}

// Bounds on what STS issues, well above what it does issue (access key IDs
// of 16 to 128 characters, as the API documents; 40-character secret keys;
// session tokens of a few KB), to refuse what a broken or hostile endpoint
// makes up.
const (
	minKey          = 16
	maxKeyID        = 128
	maxSecretKey    = 256
	maxSessionToken = 64 << 10
	// clockSkew is how far this machine's clock may be behind STS's before
	// an Expiration looks later than asked for.
	clockSkew = 15 * time.Minute
)

func (c *Client) credentials(out *awssts.AssumeRoleWithWebIdentityOutput, req Request) (awscred.Credentials, error) {
	cr := out.Credentials
	if cr == nil || cr.AccessKeyId == nil || cr.SecretAccessKey == nil || cr.SessionToken == nil || cr.Expiration == nil {
		return awscred.Credentials{}, fail.Errorf(nil, "the answer from STS at %s has no complete credentials", c.Endpoint).
			Hint("the endpoint may not be AWS STS: check --sts-endpoint, AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL")
	}
	// Remembered as secrets before anything else, so that no message about
	// them can show them.
	creds := awscred.Credentials{
		AccessKeyID:     *cr.AccessKeyId,
		SecretAccessKey: secret.New(*cr.SecretAccessKey),
		SessionToken:    secret.New(*cr.SessionToken),
		Expiration:      cr.Expiration.UTC(),
	}
	creds.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	if raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok {
		if d, err := http.ParseTime(raw.Header.Get("Date")); err == nil {
			creds.Issued = d.UTC()
		}
	}
	if err := c.plausible(creds, req); err != nil {
		return awscred.Credentials{}, err
	}
	if u := out.AssumedRoleUser; u != nil && u.Arn != nil && len(*u.Arn) <= 2048 && allBytes(*u.Arn, printable) {
		creds.AssumedRoleARN = *u.Arn
		if parts := strings.SplitN(*u.Arn, ":", 6); len(parts) == 6 && parts[0] == "arn" && len(parts[4]) == 12 && digits(parts[4]) {
			creds.AccountID = parts[4]
		}
	}
	if creds.AccountID == "" {
		creds.AccountID, _, _ = ParseRoleARN(req.RoleARN)
	}
	return creds, nil
}

// plausible refuses credentials no AWS STS issues: fields of the wrong size
// or with characters AWS never uses (a line break in a secret key would
// become a second command for a shell reading --output env line by line),
// or an Expiration in the past or later than the duration asked for.
func (c *Client) plausible(creds awscred.Credentials, req Request) error {
	implausible := func(format string, args ...any) *fail.Error {
		return fail.Errorf(nil, "the answer from STS at %s is not plausible: %s", c.Endpoint, fmt.Sprintf(format, args...)).
			Hint("AWS STS issues access key IDs of 16 to 128 letters and digits, 40-character secret keys, session tokens of a few KB, and an Expiration the duration asked for from now; this answer came from something else: check " + c.suspects())
	}
	word := func(c byte) bool { return sessionChar(c) && strings.IndexByte("+=,.@-", c) < 0 }
	for _, f := range []struct {
		name     string
		value    string
		max      int
		charsOK  func(byte) bool
		charsDoc string
	}{
		{"AccessKeyId", creds.AccessKeyID, maxKeyID, word, "letters and digits"},
		{"SecretAccessKey", creds.SecretAccessKey.Reveal(), maxSecretKey, printable, "printable ASCII characters"},
		{"SessionToken", creds.SessionToken.Reveal(), maxSessionToken, printable, "printable ASCII characters"},
	} {
		switch n := len(f.value); {
		case n < minKey || n > f.max:
			return implausible("%s is %d characters long; STS issues %d to %d", f.name, n, minKey, f.max)
		case !allBytes(f.value, f.charsOK):
			return implausible("%s has characters other than %s", f.name, f.charsDoc)
		}
	}
	asked := req.Duration
	if asked == 0 {
		asked = time.Hour // STS's default
	}
	now := time.Now()
	switch exp := creds.Expiration; {
	case !exp.After(now):
		return implausible("the credentials expire at %s, which is not in the future", exp.Format(time.RFC3339)).
			Hint("if this machine's clock is far ahead, fix time sync (timedatectl, chronyc tracking)")
	case exp.Sub(now) > asked+clockSkew:
		return implausible("the credentials expire at %s, later than the %s asked for allows", exp.Format(time.RFC3339), asked).
			Hint("if this machine's clock is far behind, fix time sync (timedatectl, chronyc tracking)")
	}
	return nil
}
