package sts

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/regfile"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// DefaultRegion is used when no region is given, as the AWS CLI does for
// STS.
const DefaultRegion = "us-east-1"

// API is the STS calls made: the exchange, and AssumeRole for a chained
// hop. *awssts.Client satisfies it.
type API interface {
	AssumeRoleWithWebIdentity(ctx context.Context, in *awssts.AssumeRoleWithWebIdentityInput, opts ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error)
	AssumeRole(ctx context.Context, in *awssts.AssumeRoleInput, opts ...func(*awssts.Options)) (*awssts.AssumeRoleOutput, error)
}

// APIFunc adapts a function to API's exchange.
type APIFunc func(ctx context.Context, in *awssts.AssumeRoleWithWebIdentityInput, opts ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error)

// AssumeRoleWithWebIdentity calls f.
func (f APIFunc) AssumeRoleWithWebIdentity(ctx context.Context, in *awssts.AssumeRoleWithWebIdentityInput, opts ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
	return f(ctx, in, opts...)
}

// AssumeRole fails: a function stands in for the exchange only.
func (APIFunc) AssumeRole(context.Context, *awssts.AssumeRoleInput, ...func(*awssts.Options)) (*awssts.AssumeRoleOutput, error) {
	return nil, errors.New("this STS client cannot call AssumeRole")
}

// Config says where and how to reach STS.
type Config struct {
	// Region of the STS endpoint; empty means DefaultRegion.
	Region string
	// Endpoint overrides the resolved endpoint (a VPC interface endpoint, a
	// test fake). It must be https, or http on a loopback address.
	Endpoint string
	// FIPS selects the FIPS endpoint of Region.
	FIPS bool
	// CABundle is a PEM file whose certificates replace the system roots, as
	// AWS_CA_BUNDLE does for the AWS CLI and SDKs.
	CABundle string
	// MaxAttempts bounds tries per exchange, first included; 0 means 3.
	MaxAttempts int
	// BaseBackoff is the first retry's ceiling (transport.Backoff); 0 means
	// 250ms. A credential process is waited on: long sleeps help nobody.
	BaseBackoff time.Duration
	// Deadline bounds New's reading of CABundle (New, making no request,
	// has no context). Zero: no limit.
	Deadline time.Time
	// Trace, when not nil, gets a line for every request.
	Trace *transport.Tracer
}

// Limits on what is read. STS answers in a few KB: anything far larger is a
// broken or hostile peer, refused, never buffered or printed.
const (
	MaxAnswer   = 1 << 20 // one answer's body
	MaxCABundle = 4 << 20 // the system's bundle is about 200 KB
)

// Client exchanges tokens at one STS endpoint.
type Client struct {
	// API makes the call; New sets an SDK client.
	API API
	// Endpoint (the URL called), its Region and Proxy (or "") are for
	// messages; Override says Endpoint was given, not resolved from Region.
	Endpoint string
	Override bool
	Region   string
	Proxy    string
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

// New resolves the endpoint and builds an unsigned SDK client for it,
// without a network call: its mistakes are found before a token is fetched.
func New(cfg Config) (*Client, error) {
	region := cmp.Or(cfg.Region, DefaultRegion)
	if !validRegion(region) {
		return nil, &ParamError{Param: Region, Problem: Malformed, Value: region}
	}
	endpoint, err := resolveEndpoint(region, cfg.Endpoint, cfg.FIPS)
	if err != nil {
		return nil, err
	}
	// The bundle only matters for TLS; reading and parsing it costs
	// milliseconds that a loopback http:// endpoint never needs.
	var pool *x509.CertPool
	if cfg.CABundle != "" && strings.HasPrefix(endpoint, "https://") {
		if pool, err = LoadCABundle(cfg.CABundle, cfg.Deadline); err != nil {
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
	return &Client{API: api, Endpoint: endpoint, Override: cfg.Endpoint != "", Region: region, Proxy: proxyFor(endpoint)}, nil
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
		return "", &ParamError{Param: Region, Problem: Unresolved, Value: region, Err: err}
	}
	return r.URI.String(), nil
}

// checkOverride refuses any endpoint that would send the token, a bearer
// credential, in cleartext beyond this machine. A query is accepted
// (EndpointQuery): the token travels in the body, never in the URL.
func checkOverride(raw string) (string, error) {
	u, problem := transport.CheckEndpoint(raw)
	switch problem {
	case transport.EndpointNotHTTP:
		return "", &ParamError{Param: Endpoint, Problem: Malformed, Value: raw}
	case transport.EndpointUserInfo:
		return "", &ParamError{Param: Endpoint, Problem: UserInfo, Value: u.Scheme + "://" + u.Host}
	case transport.EndpointCleartext:
		return "", &ParamError{Param: Endpoint, Problem: Cleartext, Value: raw}
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// LoadCABundle reads a PEM bundle with regfile's safeguards: a regular file
// of at most MaxCABundle bytes, read by deadline.
func LoadCABundle(path string, deadline time.Time) (*x509.CertPool, error) {
	pem, err := regfile.Read(path, MaxCABundle, deadline)
	if err != nil {
		return nil, &CABundleError{Path: path, Err: err}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, &CABundleError{Path: path, Err: ErrNoCertificate}
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
		o.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
			return transport.Backoff(base, transport.MaxBackoff, attempt, rand.Float64()), nil
		})
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
	if transport.TLSFailure(err) != "" || errors.As(err, new(*transport.TooLargeError)) || errors.As(err, new(*transport.NotLoopbackError)) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
})

// Exchange trades tok for credentials. The token travels only in the
// request body, never in a message. A zero req.Duration leaves STS's
// default (one hour).
func (c *Client) Exchange(ctx context.Context, tok secret.String, req Request) (awscred.Credentials, error) {
	if n := len(tok.Reveal()); n > MaxTokenLen {
		return awscred.Credentials{}, &ParamError{Param: WebIdentityToken, Problem: TooLong, N: n, Max: MaxTokenLen}
	}
	in := &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(req.RoleARN),
		RoleSessionName:  aws.String(req.SessionName),
		WebIdentityToken: aws.String(tok.Reveal()),
	}
	in.DurationSeconds, in.Policy, in.PolicyArns = req.shared()
	out, err := c.API.AssumeRoleWithWebIdentity(ctx, in)
	if err != nil {
		return awscred.Credentials{}, c.newError(exchangeOp, err, req)
	}
	return c.credentials(exchangeOp, out, req)
}

// exchangeOp names the web-identity exchange in errors.
const exchangeOp = "AssumeRoleWithWebIdentity"

// shared returns the fields both calls take from req, each left nil when
// not set so that STS applies its default.
func (req Request) shared() (duration *int32, policy *string, arns []types.PolicyDescriptorType) {
	if req.Duration != 0 {
		duration = aws.Int32(int32(req.Duration / time.Second))
	}
	if req.Policy != "" {
		policy = aws.String(req.Policy)
	}
	for _, arn := range req.PolicyARNs {
		arns = append(arns, types.PolicyDescriptorType{Arn: aws.String(arn)})
	}
	return duration, policy, arns
}

// Bounds well above what STS issues (access key IDs of 16 to 128
// characters, as documented; 40-character secret keys; session tokens of a
// few KB), to refuse what a broken or hostile endpoint makes up.
const (
	minKey          = 16
	maxKeyID        = 128
	maxSecretKey    = 256
	maxSessionToken = 64 << 10
	// clockSkew is how far this machine's clock may be behind STS's before
	// an Expiration looks later than asked for.
	clockSkew = 15 * time.Minute
)

// credentials takes the answer to op apart, and checks it.
func (c *Client) credentials(op string, out *awssts.AssumeRoleWithWebIdentityOutput, req Request) (awscred.Credentials, error) {
	cr := out.Credentials
	if cr == nil || cr.AccessKeyId == nil || cr.SecretAccessKey == nil || cr.SessionToken == nil || cr.Expiration == nil {
		return awscred.Credentials{}, c.newError(op, &AnswerError{Incomplete: true}, req)
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
	if err := plausible(creds, req); err != nil {
		return awscred.Credentials{}, c.newError(op, err, req)
	}
	if u := out.AssumedRoleUser; u != nil && u.Arn != nil && len(*u.Arn) <= 2048 && allBytes(*u.Arn, printable) {
		creds.AssumedRoleARN = *u.Arn
		if a, err := arn.Parse(*u.Arn); err == nil && len(a.AccountID) == 12 && digits(a.AccountID) {
			creds.AccountID = a.AccountID
		}
	}
	if creds.AccountID == "" {
		creds.AccountID, _, _ = ParseRoleARN(req.RoleARN)
	}
	return creds, nil
}

// plausible refuses credentials no AWS STS issues: fields of the wrong size
// or with characters AWS never uses (a line break in a secret key would
// become a second command for a shell reading an env file line by line),
// or an Expiration in the past or later than the duration asked for.
func plausible(creds awscred.Credentials, req Request) *AnswerError {
	implausible := func(format string, args ...any) *AnswerError {
		return &AnswerError{Detail: fmt.Sprintf(format, args...)}
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
	asked := cmp.Or(req.Duration, time.Hour) // STS's default
	now := time.Now()
	switch exp := creds.Expiration; {
	case !exp.After(now):
		e := implausible("the credentials expire at %s, which is not in the future", exp.Format(time.RFC3339))
		e.ClockAhead = true
		return e
	case exp.Sub(now) > asked+clockSkew:
		e := implausible("the credentials expire at %s, later than the %s asked for allows", exp.Format(time.RFC3339), asked)
		e.ClockBehind = true
		return e
	}
	return nil
}
