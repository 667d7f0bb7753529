package sts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/google/go-cmp/cmp"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

const role = "arn:aws:iam::123456789012:role/aws-allow-gcp-access"

type env struct {
	md     *fakes.Metadata
	sts    *fakes.STS
	client *Client
}

func setup(t *testing.T) *env {
	t.Helper()
	md, err := fakes.NewMetadata()
	if err != nil {
		t.Fatal(err)
	}
	f := fakes.NewSTS(&md.Key.PublicKey)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(Config{Endpoint: srv.URL, BaseBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &env{md: md, sts: f, client: c}
}

func (e *env) token(t *testing.T) secret.String {
	tok, err := e.md.Mint(fakes.ServiceAccount{Email: fakes.DefaultEmail, UniqueID: fakes.DefaultUniqueID}, "sts.amazonaws.com", true)
	if err != nil {
		t.Fatal(err)
	}
	return secret.New(tok)
}

func TestExchange(t *testing.T) {
	e := setup(t)
	tok := e.token(t)
	req := Request{RoleARN: role, SessionName: "vm-1", Duration: 2 * time.Hour, Policy: `{"Version":"2012-10-17"}`,
		PolicyARNs: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789012:policy/p"}}
	creds, err := e.client.Exchange(context.Background(), tok, req)
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccountID != "123456789012" || creds.AssumedRoleARN != "arn:aws:sts::123456789012:assumed-role/aws-allow-gcp-access/vm-1" {
		t.Errorf("got %v, account %s", creds, creds.AccountID)
	}
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || creds.SecretAccessKey.Reveal() == "" || creds.SessionToken.Reveal() == "" {
		t.Errorf("incomplete credentials %v", creds)
	}
	if d := time.Until(creds.Expiration); d < 119*time.Minute || d > 2*time.Hour || creds.Expiration.Location() != time.UTC {
		t.Errorf("expiration %v", creds.Expiration)
	}
	rec := e.sts.Received()
	if len(rec) != 1 {
		t.Fatalf("%d requests", len(rec))
	}
	want := map[string][]string{
		"Action":                  {"AssumeRoleWithWebIdentity"},
		"Version":                 {"2011-06-15"},
		"RoleArn":                 {role},
		"RoleSessionName":         {"vm-1"},
		"WebIdentityToken":        {tok.Reveal()},
		"DurationSeconds":         {"7200"},
		"Policy":                  {`{"Version":"2012-10-17"}`},
		"PolicyArns.member.1.arn": {"arn:aws:iam::aws:policy/ReadOnlyAccess"},
		"PolicyArns.member.2.arn": {"arn:aws:iam::123456789012:policy/p"},
	}
	if diff := cmp.Diff(want, map[string][]string(rec[0].Form)); diff != "" {
		t.Errorf("form (-want +got):\n%s", diff)
	}
	if rec[0].Authorization != "" {
		t.Errorf("request was signed: %q", rec[0].Authorization)
	}
}

func TestExchangeErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		faults   []fakes.Fault
		trust    *fakes.Trust
		req      Request
		requests int
		msg      string
		hints    []string
		kind     error
	}{
		{name: "access denied by trust policy", trust: &fakes.Trust{Aud: "sts.amazonaws.com"}, requests: 1,
			msg:   "STS refused to let this workload assume " + role + " (AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity)",
			hints: []string{"role exists in account 123456789012"}, kind: ErrAccessDenied},
		{name: "throttled throughout", faults: []fakes.Fault{fakes.Throttled, fakes.Throttled, fakes.Throttled}, requests: 3,
			msg: "is throttling requests, also after retries (Throttling: Rate exceeded)", hints: []string{"longer --duration"}, kind: ErrThrottled},
		{name: "region disabled", faults: []fakes.Fault{fakes.RegionDisabled}, requests: 1,
			msg: "STS is not activated in us-east-1 for account 123456789012", hints: []string{"Account settings"}},
		{name: "max session duration", req: Request{Duration: 12 * time.Hour}, requests: 1,
			faults: []fakes.Fault{{Status: 400, Code: "ValidationError", Message: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."}},
			msg:    "--duration 12h0m0s is longer than the maximum session duration of " + role,
			hints:  []string{"aws iam update-role --role-name aws-allow-gcp-access --max-session-duration 43200"}, kind: ErrDurationTooLong},
		{name: "other validation error", requests: 1,
			faults: []fakes.Fault{{Status: 400, Code: "ValidationError", Message: "Something else"}},
			msg:    "STS refused the request as invalid (ValidationError: Something else)"},
		{name: "captive portal", faults: []fakes.Fault{fakes.CaptivePortal}, requests: 1,
			msg: "(HTTP 200, text/html) is not an STS response", hints: []string{"captive portal"}},
		{name: "malformed policy", requests: 1,
			faults: []fakes.Fault{{Status: 400, Code: "MalformedPolicyDocument", Message: "bad"}},
			msg:    "STS refused the session policy given with --policy", hints: []string{"validate-policy"}},
		{name: "unknown code", requests: 1,
			faults: []fakes.Fault{{Status: 400, Code: "SomethingNew", Message: "new"}},
			msg:    "refused AssumeRoleWithWebIdentity for " + role + " (SomethingNew: new)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			e.sts.FailNext(tc.faults...)
			if tc.trust != nil {
				e.sts.Roles = map[string]fakes.Role{role: {MaxSessionDuration: 12 * time.Hour, Trust: tc.trust}}
			}
			req := tc.req
			req.RoleARN, req.SessionName = role, "s1"
			tok := e.token(t)
			_, err := e.client.Exchange(context.Background(), tok, req)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(Words(err), tc.msg) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.msg)
			}
			hints := strings.Join(Hints(err), "\n")
			for _, h := range tc.hints {
				if !strings.Contains(hints, h) {
					t.Errorf("hints %q\nwant %q", hints, h)
				}
			}
			if strings.Contains(Words(err)+hints, tok.Reveal()) || strings.Contains(Words(err)+hints, strings.Split(tok.Reveal(), ".")[2]) {
				t.Error("the token leaked into the message")
			}
			for _, k := range []error{ErrAccessDenied, ErrThrottled, ErrDurationTooLong} {
				if errors.Is(err, k) != (k == tc.kind) {
					t.Errorf("errors.Is(err, %q) = %v", k, !(k == tc.kind))
				}
			}
			wantCode := "AccessDenied"
			if tc.trust == nil {
				wantCode = tc.faults[0].Code
			}
			if code := ErrorCode(err); code != wantCode {
				t.Errorf("ErrorCode = %q, want %q", code, wantCode)
			}
			if got := len(e.sts.Received()); got != tc.requests {
				t.Errorf("%d requests, want %d", got, tc.requests)
			}
		})
	}
}

// TestRetries checks what is retried (transient) and that it then succeeds.
func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults []fakes.Fault
	}{
		{"throttling", []fakes.Fault{fakes.Throttled, fakes.Throttled}},
		{"5xx", []fakes.Fault{fakes.Unavailable, {Status: 500, Code: "InternalFailure", Message: "x"}}},
		{"IDPCommunicationError", []fakes.Fault{fakes.IDPUnreachable, fakes.IDPUnreachable}},
		{"InvalidIdentityToken key fetch", []fakes.Fault{fakes.IDPKeyMissing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			e.sts.FailNext(tc.faults...)
			if _, err := e.client.Exchange(context.Background(), e.token(t), Request{RoleARN: role, SessionName: "s1"}); err != nil {
				t.Fatal(err)
			}
			if got, want := len(e.sts.Received()), len(tc.faults)+1; got != want {
				t.Errorf("%d requests, want %d", got, want)
			}
		})
	}
}

// TestTLSNotRetried counts connections: a certificate that fails once fails
// every time, so the SDK's habit of retrying failed sends is overridden.
func TestTLSNotRetried(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	c, err := New(Config{Endpoint: srv.URL, BaseBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Exchange(context.Background(), secret.New("a.b.c"), Request{RoleARN: role, SessionName: "s1"})
	if err == nil || !strings.Contains(Words(err), "the certificate is signed by an unknown authority") {
		t.Fatalf("err = %v", err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

func TestIncompleteAnswer(t *testing.T) {
	c := &Client{Endpoint: "https://x", API: APIFunc(func(context.Context, *awssts.AssumeRoleWithWebIdentityInput, ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
		return &awssts.AssumeRoleWithWebIdentityOutput{Credentials: &types.Credentials{AccessKeyId: aws.String("A")}}, nil
	})}
	_, err := c.Exchange(context.Background(), secret.New("t"), Request{RoleARN: role})
	if err == nil || !strings.Contains(Words(err), "has no complete credentials") {
		t.Fatalf("err = %v", err)
	}
}

func TestAccountFromRoleWhenNoAssumedRoleUser(t *testing.T) {
	exp := time.Now().Add(time.Hour).Truncate(time.Second).In(time.FixedZone("x", 3600))
	c := &Client{API: APIFunc(func(context.Context, *awssts.AssumeRoleWithWebIdentityInput, ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
		return &awssts.AssumeRoleWithWebIdentityOutput{Credentials: &types.Credentials{
			AccessKeyId: aws.String("ASIAEXAMPLEKEYID0001"), SecretAccessKey: aws.String(strings.Repeat("S", 40)), SessionToken: aws.String(strings.Repeat("T", 400)), Expiration: &exp}}, nil
	})}
	creds, err := c.Exchange(context.Background(), secret.New("t"), Request{RoleARN: role})
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccountID != "123456789012" || creds.Expiration.Location() != time.UTC || !creds.Expiration.Equal(exp) {
		t.Errorf("got %+v", creds)
	}
}

func TestResolveEndpoint(t *testing.T) {
	for _, tc := range []struct {
		region, override string
		fips             bool
		want, err        string
	}{
		{region: "us-east-1", want: "https://sts.us-east-1.amazonaws.com"},
		{region: "ap-northeast-1", want: "https://sts.ap-northeast-1.amazonaws.com"},
		{region: "us-east-1", fips: true, want: "https://sts-fips.us-east-1.amazonaws.com"},
		{region: "cn-north-1", want: "https://sts.cn-north-1.amazonaws.com.cn"},
		{region: "us-gov-west-1", want: "https://sts.us-gov-west-1.amazonaws.com"},
		{region: "eu-west-1", override: "https://vpce-0a1b-c2d3.sts.eu-west-1.vpce.amazonaws.com/", want: "https://vpce-0a1b-c2d3.sts.eu-west-1.vpce.amazonaws.com"},
		{region: "us-east-1", override: "http://127.0.0.1:5000", want: "http://127.0.0.1:5000"},
		{region: "us-east-1", override: "http://[::1]:5000", want: "http://[::1]:5000"},
		{region: "us-east-1", override: "http://localhost:5000", want: "http://localhost:5000"},
		{region: "us-east-1", override: "http://127.8.9.10", want: "http://127.8.9.10"},
		{region: "us-east-1", override: "http://sts.us-east-1.amazonaws.com", err: "refusing cleartext STS endpoint"},
		{region: "us-east-1", override: "http://169.254.169.254", err: "refusing cleartext STS endpoint"},
		{region: "us-east-1", override: "http://localhost.evil.com", err: "refusing cleartext STS endpoint"},
		{region: "us-east-1", override: "https://user:pw@sts.example.com", err: "carries user information"},
		// A mistyped scheme is not quoted whole: the password would be.
		{region: "us-east-1", override: "htps://user:s3cretpass@sts.example.com", err: "STS endpoint htps://sts.example.com carries user information"},
		{region: "us-east-1", override: "sts.example.com", err: "is not an http(s) URL"},
	} {
		got, err := resolveEndpoint(tc.region, tc.override, tc.fips)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(Words(err), tc.err)):
			t.Errorf("resolveEndpoint(%q, %q) err = %v, want %q", tc.region, tc.override, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("resolveEndpoint(%q, %q, %v) = %q, %v; want %q", tc.region, tc.override, tc.fips, got, err, tc.want)
		}
	}
	if _, err := New(Config{Region: "US_EAST"}); err == nil || !strings.Contains(Words(err), `--region "US_EAST" is not an AWS region`) {
		t.Errorf("bad region: %v", err)
	}
	c, err := New(Config{})
	if err != nil || c.Endpoint != "https://sts.us-east-1.amazonaws.com" || c.Region != DefaultRegion {
		t.Errorf("default endpoint %v %v", c, err)
	}
}

func TestValidate(t *testing.T) {
	ok := Request{RoleARN: role, SessionName: "ab"}
	for _, tc := range []struct {
		mod func(*Request)
		err string
	}{
		{func(r *Request) {}, ""},
		{func(r *Request) { r.RoleARN = "arn:aws-cn:iam::123456789012:role/a/b/c/name" }, ""},
		{func(r *Request) { r.RoleARN = "arn:aws-us-gov:iam::123456789012:role/n" }, ""},
		{func(r *Request) { r.RoleARN = "" }, "no role to assume"},
		{func(r *Request) { r.RoleARN = "arn:aws:iam::123456789012:role/" }, "is not an IAM role ARN"},
		{func(r *Request) { r.RoleARN = "arn:aws:sts::123456789012:assumed-role/a/b" }, "is not an IAM role ARN"},
		{func(r *Request) { r.RoleARN = "arn:gcp:iam::123456789012:role/a" }, "is not an IAM role ARN"},
		{func(r *Request) { r.SessionName = "a" }, "not a valid role session name"},
		{func(r *Request) { r.SessionName = "a b" }, "not a valid role session name"},
		{func(r *Request) { r.SessionName = strings.Repeat("a", 65) }, "not a valid role session name"},
		{func(r *Request) { r.SessionName = "a_b+c=d,e.f@g-h" }, ""},
		{func(r *Request) { r.Duration = 15 * time.Minute }, ""},
		{func(r *Request) { r.Duration = 12 * time.Hour }, ""},
		{func(r *Request) { r.Duration = 14 * time.Minute }, "out of range"},
		{func(r *Request) { r.Duration = 12*time.Hour + time.Second }, "out of range"},
		{func(r *Request) { r.Policy = "{" + strings.Repeat(" ", 2048) + "}" }, "STS accepts at most 2048"},
		{func(r *Request) { r.Policy = "[]" }, "not a JSON policy document"},
		{func(r *Request) { r.PolicyARNs = make([]string, 11) }, "11 --policy-arn values"},
		{func(r *Request) { r.PolicyARNs = []string{"arn:aws:iam::aws:policy/service-role/AWSLambdaRole"} }, ""},
		{func(r *Request) { r.PolicyARNs = []string{"arn:aws:iam::123456789012:role/x"} }, "is not an IAM policy ARN"},
	} {
		r := ok
		r.PolicyARNs = nil
		tc.mod(&r)
		err := r.Validate()
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(Words(err), tc.err)) {
			t.Errorf("Validate(%+v) = %v, want %q", r, err, tc.err)
		}
	}
}

func TestSanitizeSessionName(t *testing.T) {
	for in, want := range map[string]string{
		"vm-1.us-central1-a.c.proj.internal": "vm-1.us-central1-a.c.proj.internal",
		"my host (prod)":                     "my-host-prod",
		"x":                                  "",
		"---":                                "",
		"ünïcode":                            "n-code",
		strings.Repeat("a", 70):              strings.Repeat("a", 64),
		strings.Repeat("a", 63) + " b":       strings.Repeat("a", 63),
	} {
		if got := SanitizeSessionName(in); got != want {
			t.Errorf("SanitizeSessionName(%q) = %q, want %q", in, got, want)
		}
		if got := SanitizeSessionName(in); got != "" && ValidateSessionName(got) != nil {
			t.Errorf("SanitizeSessionName(%q) = %q is not valid", in, got)
		}
	}
}

func TestCredentialsNeverPrintSecrets(t *testing.T) {
	c := awscred.Credentials{AccessKeyID: "ASIAX", SecretAccessKey: secret.New("SECRETKEY"), SessionToken: secret.New("SESSIONTOKEN"),
		Expiration: time.Now(), AssumedRoleARN: "arn:aws:sts::1:assumed-role/r/s"}
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", &c)} {
		if strings.Contains(out, "SECRETKEY") || strings.Contains(out, "SESSIONTOKEN") {
			t.Errorf("secret printed: %s", out)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestNewRemembersAnOverride: the client says whether its endpoint was
// given, so that the words for a failure can point at what gave it.
func TestNewRemembersAnOverride(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want bool
	}{
		{Config{Region: "eu-west-1"}, false},
		{Config{Endpoint: "https://vpce-1.sts.eu-west-1.vpce.amazonaws.com"}, true},
	} {
		c, err := New(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if c.Override != tc.want {
			t.Errorf("New(%+v).Override = %v, want %v", tc.cfg, c.Override, tc.want)
		}
	}
}

// TestParseRoleARNSaysWhichPart: a role ARN pasted wrong says which part
// is wrong, and an assumed-role ARN or one with white space around it
// names the role meant (issue 23, item 16).
func TestParseRoleARNSaysWhichPart(t *testing.T) {
	for _, tc := range []struct{ arn, part, want string }{
		{"arn:aws:iam::123456789012:role/r ", "white space", "arn:aws:iam::123456789012:role/r"},
		{"arn:aws:iam::12345678901:role/r", `the account ID "12345678901" has 11 characters`, ""},
		{"arn:aws:sts::123456789012:assumed-role/deploy/i-0abc", "assumed-role", "arn:aws:iam::123456789012:role/deploy"},
		{"arn:aws-cn:sts::123456789012:assumed-role/deploy/s", "assumed-role", "arn:aws-cn:iam::123456789012:role/deploy"},
		{"arn:aws:iam::123456789012:user/alice", "does not start with role/", ""},
		{"arn:aws:iam:us-east-1:123456789012:role/r", "no region", ""},
		{"arn:aws:s3:::bucket", `service is "s3"`, ""},
		{"aws-allow-gcp-access", "six parts", ""},
	} {
		_, _, err := ParseRoleARN(tc.arn)
		pe, ok := errors.AsType[*ParamError](err)
		if !ok || pe.Param != RoleArn || pe.Problem != Malformed || !strings.Contains(pe.Part, tc.part) || pe.Want != tc.want {
			t.Errorf("ParseRoleARN(%q) = %#v", tc.arn, err)
		}
	}
	if account, name, err := ParseRoleARN("arn:aws:iam::123456789012:role/path/to/r"); err != nil || account != "123456789012" || name != "r" {
		t.Errorf("a role with a path: %q %q %v", account, name, err)
	}
}
