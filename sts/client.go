package sts

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
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
}

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
	// The SDK's transport settings (proxy from the environment, dial and
	// TLS timeouts), in a client of our own: the SDK's client follows 307
	// and 308 redirects with the body, to any URL, and the body carries the
	// token. STS never redirects, so nothing is followed.
	transport := awshttp.NewBuildableClient().GetTransport()
	// The bundle only matters for TLS; reading and parsing it costs
	// milliseconds that a loopback http:// endpoint never needs.
	if cfg.CABundle != "" && strings.HasPrefix(endpoint, "https://") {
		pool, err := loadCABundle(cfg.CABundle)
		if err != nil {
			return nil, err
		}
		if transport.TLSClientConfig == nil {
			transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		transport.TLSClientConfig.RootCAs = pool
	}
	httpClient := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
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
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "", fail.Errorf(nil, "refusing cleartext STS endpoint %s: the ID token is a bearer credential and would cross the network unencrypted", raw).
			Hint("use https://; http:// is accepted only for loopback addresses (127.0.0.1, ::1, localhost), for local emulators",
				"the endpoint came from --sts-endpoint, else AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loadCABundle(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fail.Errorf(err, "cannot read CA bundle %s: %v", path, errors.Unwrap(err)).
			Hint("AWS_CA_BUNDLE (or --ca-bundle) must name a readable PEM file")
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
	attempts := cfg.MaxAttempts
	if attempts == 0 {
		attempts = 3
	}
	base := cfg.BaseBackoff
	if base == 0 {
		base = 250 * time.Millisecond
	}
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.Backoff = jitterBackoff{base: base, max: 2 * time.Second}
		// The retry quota protects long-lived clients from retry storms; a
		// process that makes one call has nothing to protect.
		o.RateLimiter = ratelimit.None
		// The SDK treats every failed send as a connection error worth
		// retrying; a certificate that does not verify will not verify on
		// the next try either.
		o.Retryables = append([]retry.IsErrorRetryable{notTLS}, append(o.Retryables, idpTransient)...)
	})
}

var notTLS = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	if tlsCause(err) != "" {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
})

type jitterBackoff struct{ base, max time.Duration }

// BackoffDelay implements retry.BackoffDelayer with full jitter.
func (b jitterBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	d := b.base << (attempt - 1)
	if d > b.max || d <= 0 {
		d = b.max
	}
	return d/2 + rand.N(d/2+1), nil
}

// Exchange trades tok for credentials. The token travels only in the request
// body; no message built here contains it.
func (c *Client) Exchange(ctx context.Context, tok secret.String, req Request) (awscred.Credentials, error) {
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
		return awscred.Credentials{}, c.explain(err, tok, req)
	}
	return c.credentials(out, req)
}

func (c *Client) credentials(out *awssts.AssumeRoleWithWebIdentityOutput, req Request) (awscred.Credentials, error) {
	cr := out.Credentials
	if cr == nil || cr.AccessKeyId == nil || cr.SecretAccessKey == nil || cr.SessionToken == nil || cr.Expiration == nil {
		return awscred.Credentials{}, fail.Errorf(nil, "the answer from STS at %s has no complete credentials", c.Endpoint).
			Hint("the endpoint may not be AWS STS: check --sts-endpoint, AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL")
	}
	creds := awscred.Credentials{
		AccessKeyID:     *cr.AccessKeyId,
		SecretAccessKey: secret.New(*cr.SecretAccessKey),
		SessionToken:    secret.New(*cr.SessionToken),
		Expiration:      cr.Expiration.UTC(),
	}
	if u := out.AssumedRoleUser; u != nil && u.Arn != nil {
		creds.AssumedRoleARN = *u.Arn
		if parts := strings.SplitN(*u.Arn, ":", 6); len(parts) == 6 {
			creds.AccountID = parts[4]
		}
	}
	if creds.AccountID == "" {
		creds.AccountID, _, _ = ParseRoleARN(req.RoleARN)
	}
	return creds, nil
}
