// Package cred is the one credential pipeline every command runs: check the
// options, fetch a Google ID token, build the STS request from its claims,
// exchange it at STS. Each step is a method of Flow so that doctor can run
// them one by one; serve holds one Flow for every refresh. It is the one
// layer that knows both sides, so it explains what a refusal at STS means
// for the token's claims.
package cred

import (
	"cmp"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

// TokenOptions say which token to ask the metadata server for.
type TokenOptions struct {
	Audience               string        `help:"The aud claim requested for the Google ID token; pin it in the trust policy as accounts.google.com:oaud." default:"sts.amazonaws.com" env:"GCP_AWS_CRED_AUDIENCE"`
	ServiceAccount         string        `help:"Attached service account to sign for: \"default\" or its email." default:"default" env:"GCP_AWS_CRED_SERVICE_ACCOUNT" placeholder:"EMAIL"`
	Timeout                time.Duration `help:"Deadline for the whole run, retries included, like 30s or 1m (a bare number is seconds)." default:"30s" placeholder:"DURATION" env:"GCP_AWS_CRED_TIMEOUT"`
	Verbose                bool          `help:"Print each step's target, status and timing to stderr, for a support ticket; never a secret, never on stdout." env:"GCP_AWS_CRED_DEBUG"`
	Impersonate            []string      `help:"Get the token of this service account through the IAM Credentials API, as the caller Application Default Credentials name (GOOGLE_APPLICATION_CREDENTIALS, else gcloud auth application-default login's file, else the metadata server); with several, the last is the target and those before it delegates." env:"GCP_AWS_CRED_IMPERSONATE" placeholder:"EMAIL"`
	IAMCredentialsEndpoint string        `name:"iam-credentials-endpoint" help:"IAM Credentials API URL for --impersonate (Private Service Connect, emulator). http:// only on loopback." default:"https://iamcredentials.googleapis.com" env:"GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT" placeholder:"URL"`

	// TraceTo, when set, receives the --verbose trace instead of stderr:
	// serve sends it through its log, in the log's format.
	TraceTo io.Writer `kong:"-"`
}

// TokenArgs are the arguments that decide which token these options get,
// for a hint that names another command: it must look at the same token.
// Values left at their defaults are left out.
func (o *TokenOptions) TokenArgs() []string {
	var args []string
	for _, e := range o.Impersonate {
		args = append(args, "--impersonate", e)
	}
	if o.ServiceAccount != "default" {
		args = append(args, "--service-account", o.ServiceAccount)
	}
	if o.Audience != token.DefaultAudience {
		args = append(args, "--audience", o.Audience)
	}
	if o.Impersonating() && o.IAMCredentialsEndpoint != token.DefaultIAMCredentialsEndpoint {
		args = append(args, "--iam-credentials-endpoint", o.IAMCredentialsEndpoint)
	}
	return args
}

// Chain is --impersonate as target and delegates, or "" when not
// impersonating.
func (o *TokenOptions) Chain() (target string, delegates []string) {
	for _, e := range o.Impersonate {
		if e = strings.TrimSpace(e); e != "" {
			delegates = append(delegates, e)
		}
	}
	if len(delegates) == 0 {
		return "", nil
	}
	return delegates[len(delegates)-1], delegates[:len(delegates)-1]
}

// Impersonating reports whether tokens come from the IAM Credentials API.
func (o *TokenOptions) Impersonating() bool {
	t, _ := o.Chain()
	return t != ""
}

// Tokens returns o: how the command line finds the token options (and
// --timeout) of whichever command runs, all of which embed them.
func (o *TokenOptions) Tokens() *TokenOptions { return o }

// Options are everything the exchange needs. The struct tags are the command
// line: every command that exchanges embeds Options, so the flags and
// environment variables are the same everywhere.
type Options struct {
	Role        string        `help:"ARN of the IAM role to assume${role_note}." env:"GCP_AWS_CRED_ROLE" placeholder:"ARN"`
	SessionName string        `help:"RoleSessionName shown in CloudTrail; default: the Compute Engine instance name, else the Cloud Run or Cloud Functions service ($K_SERVICE), else the host name, else the service account's name (with --impersonate there is no instance name: off Google Cloud, the host name)." env:"GCP_AWS_CRED_SESSION_NAME" placeholder:"NAME"`
	Duration    time.Duration `help:"Lifetime of the credentials, 15m to 12h, like 1h, 90m or 5400s (a bare number is seconds, as STS's DurationSeconds); at most the role's maximum session duration." default:"1h" placeholder:"DURATION" env:"GCP_AWS_CRED_DURATION"`
	Region      string        `help:"STS region; default $AWS_REGION, else $AWS_DEFAULT_REGION, else the role's partition's (us-east-1, cn-north-1, us-gov-west-1). A profile's region is not passed to credential_process: put --region on its line." placeholder:"REGION"`
	STSEndpoint string        `name:"sts-endpoint" help:"STS endpoint URL (VPC interface endpoint, emulator); default $AWS_ENDPOINT_URL_STS, else $AWS_ENDPOINT_URL. http:// only on loopback." placeholder:"URL"`
	FIPS        bool          `name:"fips" help:"Use the region's FIPS endpoint." env:"AWS_USE_FIPS_ENDPOINT"`
	CABundle    string        `name:"ca-bundle" help:"PEM file of CA certificates to trust instead of the system's, for TLS-inspecting proxies." env:"AWS_CA_BUNDLE" placeholder:"FILE"`
	Policy      string        `help:"Inline session policy (JSON) that narrows the role's permissions." placeholder:"JSON"`
	PolicyARNs  []string      `name:"policy-arn" help:"Managed session policy ARN; repeat for up to 10." placeholder:"ARN" sep:"none"`
	ChainRoles  []string      `name:"chain-role" help:"After --role, assume this role with AssumeRole, signed with the previous role's keys; repeat to chain further. A chained session lasts at most 1h; --policy and --policy-arn apply to the last role." placeholder:"ARN" sep:"none"`
	ExternalID  string        `name:"external-id" help:"ExternalId sent with every --chain-role hop, for trust policies with an sts:ExternalId condition." env:"GCP_AWS_CRED_EXTERNAL_ID" placeholder:"ID"`

	TokenOptions `embed:""`
}

// Check checks the token options before any network call.
func (o *TokenOptions) Check() error {
	if strings.TrimSpace(o.Audience) == "" {
		return explain.Errorf(nil, "--audience is empty").
			Hint("the metadata server needs an audience; the default is " + token.DefaultAudience)
	}
	// The value goes into a URL path, so nothing else may pass.
	if o.ServiceAccount != "default" && !token.ValidEmail(o.ServiceAccount) {
		return explain.Errorf(nil, "--service-account %q is neither \"default\" nor a service account email", o.ServiceAccount).
			Hint("pass the email, like NAME@PROJECT.iam.gserviceaccount.com, or leave the default")
	}
	if o.Timeout <= 0 {
		return explain.Quote("timeout", o.Timeout, "%s must be positive").
			Hint("the Go SDK gives a credential process one minute; the default 30s leaves room")
	}
	if err := o.checkImpersonation(); err != nil {
		return err
	}
	return token.CheckHost()
}

func (o *TokenOptions) checkImpersonation() error {
	if len(o.Impersonate) == 0 {
		return nil
	}
	target, delegates := o.Chain()
	if target == "" {
		return explain.Errorf(nil, "--impersonate is empty").
			Hint("pass the email of the service account to act as, like NAME@PROJECT.iam.gserviceaccount.com, or leave --impersonate (and GCP_AWS_CRED_IMPERSONATE) out to use the metadata server's account")
	}
	for _, e := range append(delegates, target) {
		if !token.ValidEmail(e) {
			return explain.Errorf(nil, "--impersonate %q is not a service account email", e).
				Hint("pass EMAIL or DELEGATE,...,EMAIL, each like NAME@PROJECT.iam.gserviceaccount.com; the last is the account to act as")
		}
	}
	_, err := token.CheckIAMEndpoint(o.IAMCredentialsEndpoint)
	return err
}

// Check checks every option it can without the network.
func (o *Options) Check() error { return o.check(true) }

func (o *Options) check(needRole bool) error {
	if err := o.TokenOptions.Check(); err != nil {
		return err
	}
	// STS would take a missing duration as its default, one hour; an
	// explicit zero is more likely a mistake than a wish for that.
	if o.Duration == 0 {
		return &sts.ParamError{Param: sts.DurationSeconds, Problem: sts.TooShort}
	}
	// An empty session name passes: it is derived from the token later,
	// always valid.
	req := o.request(o.SessionName)
	validate := req.Validate
	if !needRole && o.Role == "" {
		validate = req.ValidateParams
	}
	if err := validate(); err != nil {
		return err
	}
	if err := o.checkChain(); err != nil {
		return err
	}
	// After the role: the default region depends on its partition.
	_, _, err := o.STSRegion()
	return err
}

func (o *Options) request(session string) sts.Request {
	return sts.Request{RoleARN: o.Role, SessionName: session, Duration: o.Duration, Policy: o.Policy, PolicyARNs: o.PolicyARNs}
}

// Endpoint is the STS endpoint override in the AWS tools' order, and the
// flag or variable it came from: the flag, then AWS_ENDPOINT_URL_STS, then
// AWS_ENDPOINT_URL, unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS says to
// ignore the variables.
func (o *Options) Endpoint() (url, from string) {
	if o.STSEndpoint != "" {
		return o.STSEndpoint, "--sts-endpoint"
	}
	if strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return "", ""
	}
	for _, env := range []string{"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"} {
		if v := os.Getenv(env); v != "" {
			return v, env
		}
	}
	return "", ""
}

// Flow is the pipeline for one set of checked options. It holds no
// credentials and no token between calls, so one Flow may be called
// repeatedly, and from several goroutines.
type Flow struct {
	Opts   *Options
	Source token.Source
	STS    *sts.Client       // nil in a Flow from NewTokenFlow
	Trace  *transport.Tracer // the --verbose trace; nil writes nothing
}

// New checks opts and prepares both ends without touching the network.
func New(opts *Options) (*Flow, error) { return prepare(opts, true) }

// NewWithoutRole is New for doctor, which checks all it can, and runs every
// step but the exchange, before it says the role is missing.
func NewWithoutRole(opts *Options) (*Flow, error) { return prepare(opts, false) }

func prepare(opts *Options, needRole bool) (*Flow, error) {
	if err := opts.check(needRole); err != nil {
		return nil, err
	}
	f := newFlow(&opts.TokenOptions)
	cfg := opts.STSConfig()
	cfg.Trace = f.Trace
	client, err := sts.New(cfg)
	if err != nil {
		return nil, err
	}
	f.Opts, f.STS = opts, client
	f.Trace.Printf("STS: endpoint %s, region %s, proxy %s, role %s, duration %s", client.Endpoint, client.Region, cmp.Or(client.Proxy, "none"), opts.Role, opts.Duration)
	return f, nil
}

// NewTokenFlow checks o and prepares a Flow that only fetches tokens, for
// the commands that never reach STS (token, trust-policy).
func NewTokenFlow(o *TokenOptions) (*Flow, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	f := newFlow(o)
	f.Opts = &Options{TokenOptions: *o}
	return f, nil
}

func newFlow(o *TokenOptions) *Flow {
	var trace *transport.Tracer
	if o.Verbose {
		trace = transport.NewTracer(cmp.Or[io.Writer](o.TraceTo, os.Stderr))
	}
	if target, delegates := o.Chain(); target != "" {
		endpoint, _ := token.CheckIAMEndpoint(o.IAMCredentialsEndpoint) // checked by Check
		trace.Printf("impersonating %s (delegates: %s) through %s, audience %s, timeout %s", target, cmp.Or(strings.Join(delegates, ", "), "none"), endpoint, o.Audience, o.Timeout)
		return &Flow{Source: &token.IAMSource{
			Target: target, Delegates: delegates, Audience: o.Audience, Endpoint: endpoint,
			ServiceAccount: o.ServiceAccount, Metadata: token.NewClient(trace),
			OAuth: token.NewGoogleClient("Google token endpoint", trace),
			IAM:   token.NewGoogleClient("IAM Credentials endpoint", trace),
			Trace: trace,
		}, Trace: trace}
	}
	trace.Printf("metadata server %s, service account %s, audience %s, timeout %s", token.MetadataHost(), o.ServiceAccount, o.Audience, o.Timeout)
	return &Flow{
		Source: &token.MetadataSource{Client: token.NewClient(trace), ServiceAccount: o.ServiceAccount, Audience: o.Audience, Trace: trace},
		Trace:  trace,
	}
}

// STSConfig is where and how to reach STS for these options; Check reports
// a region that cannot be resolved. The CA bundle must be read within
// --timeout, which starts about now.
func (o *Options) STSConfig() sts.Config {
	region, _, _ := o.STSRegion()
	endpoint, _ := o.Endpoint()
	return sts.Config{Region: region, Endpoint: endpoint, FIPS: o.FIPS, CABundle: o.CABundle, Deadline: time.Now().Add(o.Timeout)}
}

// Token fetches an ID token and decodes its claims. The metadata source has
// already checked the token's shape; decoding again costs microseconds and
// keeps token.Source down to one method that anything can implement.
func (f *Flow) Token(ctx context.Context) (secret.String, token.JWT, error) {
	start := time.Now()
	tok, err := f.Source.Token(ctx)
	if err != nil {
		f.Trace.Printf("ID token: failed after %s", transport.Duration(time.Since(start)))
		return secret.String{}, token.JWT{}, err
	}
	j, err := token.Decode(tok)
	if err == nil {
		c := j.Claims
		f.Trace.Printf("ID token: %d characters, azp %s, aud %s, sub %s, expires %s, after %s", len(tok.Reveal()), c.AuthorizedParty, c.Audience, c.Subject, c.Expiry.Time().Format(time.RFC3339), transport.Duration(time.Since(start)))
	}
	return tok, j, err
}

// Request is the STS request for a token with these claims: the session is
// named after the workload unless --session-name says otherwise.
func (f *Flow) Request(claims token.Claims) sts.Request {
	session := f.Opts.SessionName
	if session == "" {
		host, _ := os.Hostname()
		session = defaultSessionName(claims, os.Getenv("K_SERVICE"), host)
	}
	return f.Opts.request(session)
}

// Exchange trades tok, whose claims are given, for credentials. When the
// role's trust policy refuses the token, the error says what the policy
// would have to say for these very claims.
func (f *Flow) Exchange(ctx context.Context, tok secret.String, claims token.Claims, req sts.Request) (awscred.Credentials, error) {
	start := time.Now()
	creds, err := f.STS.Exchange(ctx, tok, req)
	if err != nil {
		f.Trace.Printf("exchange: failed after %s (%s)", transport.Duration(time.Since(start)), cmp.Or(sts.ErrorCode(err), "none"))
	} else {
		f.Trace.Printf("exchange: session %s, %s until %s, after %s", req.SessionName, creds.AssumedRoleARN, creds.Expiration.Format(time.RFC3339), transport.Duration(time.Since(start)))
	}
	if errors.Is(err, sts.ErrAccessDenied) {
		err = &explain.Error{Hints: trustHints(claims), Err: err}
	}
	return creds, err
}

// Credentials runs the whole pipeline.
func (f *Flow) Credentials(ctx context.Context) (awscred.Credentials, error) {
	tok, j, err := f.Token(ctx)
	if err != nil {
		return awscred.Credentials{}, err
	}
	req := f.Request(j.Claims)
	creds, err := f.Exchange(ctx, tok, j.Claims, f.FirstHop(req))
	if err != nil {
		return awscred.Credentials{}, err
	}
	return f.Chain(ctx, creds, req, nil)
}

// defaultSessionName names the session after the workload, the same on
// every call, so CloudTrail says which machine or service acted. K_SERVICE
// (Cloud Run, Cloud Functions) comes before the host name, which there is
// a sandbox's; the first label of a host name is a GKE pod's name.
func defaultSessionName(c token.Claims, service, host string) string {
	var names []string
	if ce := c.Instance(); ce != nil {
		names = append(names, ce.InstanceName)
	}
	names = append(names, service)
	if h, _, _ := strings.Cut(host, "."); h != "localhost" {
		names = append(names, h)
	}
	if local, _, ok := strings.Cut(c.Email, "@"); ok {
		names = append(names, local)
	}
	for _, name := range names {
		if s := sts.SanitizeSessionName(name); s != "" {
			return s
		}
	}
	return clean.Name
}

// Exit statuses of a run. ExitThrottled lets fleet tooling tell "slow down"
// from "misconfigured": it is EX_TEMPFAIL of sysexits.h, a failure worth
// trying again later.
const (
	ExitFailure   = 1
	ExitUsage     = 2
	ExitThrottled = 75
)

// ExitStatus is the status a run that failed with err exits with: exec's
// child's own, ExitThrottled when still throttled after the retries, else
// ExitFailure.
func ExitStatus(err error) int {
	var exit interface{ ExitCode() int }
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case errors.Is(err, sts.ErrThrottled), errors.Is(err, token.ErrThrottled):
		return ExitThrottled
	}
	return ExitFailure
}
