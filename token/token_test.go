package token

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/metadata"
	"github.com/google/go-cmp/cmp"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// fake starts a fake metadata server and points GCE_METADATA_HOST at it.
func fake(t *testing.T) *fakes.Metadata { return fakeForBench(t) }

func fakeForBench(t testing.TB) *fakes.Metadata {
	t.Helper()
	md, err := fakes.NewMetadata()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(md)
	t.Cleanup(srv.Close)
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(srv.URL, "http://"))
	return md
}

func TestMetadataToken(t *testing.T) {
	md := fake(t)
	md.Instance = map[string]any{"instance_name": "vm-1", "project_id": "p", "project_number": 42, "zone": "z", "instance_id": "7"}
	src := &MetadataSource{ServiceAccount: "default", Audience: "sts.amazonaws.com"}
	tok, err := src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	j, err := Decode(tok)
	if err != nil {
		t.Fatal(err)
	}
	want := Claims{
		Issuer:          "https://accounts.google.com",
		Audience:        Audience{"sts.amazonaws.com"},
		AuthorizedParty: fakes.DefaultUniqueID,
		Subject:         fakes.DefaultUniqueID,
		Email:           fakes.DefaultEmail,
		EmailVerified:   true,
		Google:          &GoogleEx{ComputeEngine: &ComputeEngine{InstanceName: "vm-1", ProjectID: "p", ProjectNumber: 42, Zone: "z", InstanceID: "7"}},
	}
	got := j.Claims
	if time.Until(got.Expiry.Time()) < 59*time.Minute || got.IssuedAt.Time().After(time.Now().Add(time.Second)) {
		t.Errorf("iat %v / exp %v not a fresh one-hour token", got.IssuedAt.Time(), got.Expiry.Time())
	}
	got.IssuedAt, got.Expiry = 0, 0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if j.Header.Alg != "RS256" || j.Header.Kid != fakes.DefaultKeyID {
		t.Errorf("header %+v", j.Header)
	}
	if got.IAMAud() != fakes.DefaultUniqueID {
		t.Errorf("IAMAud = %q, want azp", got.IAMAud())
	}
	if got.Instance().InstanceName != "vm-1" {
		t.Error("Instance() lost the compute_engine block")
	}
}

func TestMetadataTokenErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(*fakes.Metadata)
		sa      string
		timeout time.Duration
		msg     string
		hint    string
	}{
		{name: "unknown account", sa: "nobody@p.iam.gserviceaccount.com",
			msg:  `does not know service account "nobody@p.iam.gserviceaccount.com" (HTTP 404)`,
			hint: "--service-account takes"},
		{name: "persistent 503", setup: func(m *fakes.Metadata) { m.FailNext(503, 503, 503, 503, 503, 503) },
			msg: "answered HTTP 503: Service Unavailable", hint: "failed even after retries"},
		{name: "html", setup: func(m *fakes.Metadata) { m.AnswerWith("<html>portal</html>") },
			msg: "answered something that is not an ID token: the answer is an HTML or XML page (19 bytes)", hint: "GCE_METADATA_HOST"},
		{name: "deadline", setup: func(m *fakes.Metadata) { m.Delay(2 * time.Second) }, timeout: 200 * time.Millisecond,
			msg: "before the deadline", hint: "--timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := fake(t)
			if tc.setup != nil {
				tc.setup(md)
			}
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			sa := tc.sa
			if sa == "" {
				sa = "default"
			}
			_, err := (&MetadataSource{ServiceAccount: sa, Audience: "a"}).Token(ctx)
			checkErr(t, err, tc.msg, tc.hint)
		})
	}
}

func TestMetadataRetries5xx(t *testing.T) {
	md := fake(t)
	md.FailNext(500, 503)
	if _, err := (&MetadataSource{ServiceAccount: "default", Audience: "a"}).Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := md.Requests(); n != 3 {
		t.Errorf("%d requests, want 3 (two failures, one success)", n)
	}
}

func TestMetadataUnreachable(t *testing.T) {
	t.Setenv("GCE_METADATA_HOST", "127.0.0.1:1")
	_, err := (&MetadataSource{ServiceAccount: "default", Audience: "a"}).Token(context.Background())
	checkErr(t, err, "cannot reach the metadata server at 127.0.0.1:1: connection refused", "is this running on Google Cloud?")
}

func checkErr(t *testing.T, err error, msg, hint string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	// The run's deadline is worded where the command line is known.
	err = Explain(100*time.Millisecond, err)
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q does not contain %q", err, msg)
	}
	if h := strings.Join(Hints(err), "\n"); !strings.Contains(h, hint) {
		t.Errorf("hints %q do not contain %q", h, hint)
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{"", "the answer was empty"},
		{"<!DOCTYPE html>", "the answer is an HTML or XML page (15 bytes)"},
		{`{"id_token":"x"}`, "the answer is JSON (16 bytes), not a compact JWT"},
		{"a.b", "the answer has 2 dot-separated parts, a JWT has 3 (3 bytes)"},
		{"!!!.e30.c2ln", "JWT header: not base64url"},
		{"e30.e30.c2ln", "JWT header has no alg"},
		{"eyJhbGciOiJSUzI1NiJ9.WzFd.c2ln", "JWT claims: not a JSON object"},
		{"eyJhbGciOiJSUzI1NiJ9.e30.", "JWT has no signature"},
	} {
		_, err := Decode(secret.New(tc.in))
		if err == nil || err.Error() != tc.err {
			t.Errorf("Decode(%q) = %v, want %q", tc.in, err, tc.err)
		}
	}
	// aud as a list, exp as a fraction: both allowed by RFC 7519.
	j, err := Decode(secret.New("eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOlsiYSIsImIiXSwiZXhwIjoxNzAwMDAwMDAwLjV9.c2ln"))
	if err != nil {
		t.Fatal(err)
	}
	if j.Claims.Audience.String() != "a,b" || j.Claims.Expiry != 1700000000 || j.Claims.IAMAud() != "a,b" {
		t.Errorf("claims %+v", j.Claims)
	}
}

// TestDecodeNeverQuotes checks that a malformed answer, which may still be a
// credential, is described and never echoed.
func TestDecodeNeverQuotes(t *testing.T) {
	for _, in := range []string{"ya29.SECRETSECRET", "eyJhbGciOiJSUzI1NiJ9.SECRETSECRET.sig", "x.y.SECRETSECRET"} {
		_, err := Decode(secret.New(in))
		if err == nil {
			t.Fatalf("Decode(%q) succeeded", in)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error quotes the input: %v", err)
		}
	}
}

func TestErrorsUnwrap(t *testing.T) {
	t.Setenv("GCE_METADATA_HOST", "127.0.0.1:1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (&MetadataSource{ServiceAccount: "default", Audience: "a"}).Token(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancellation not in the chain: %v", err)
	}
}

// TestDialTimeoutIsFinal checks that a metadata host that does not accept a
// connection is given up on after one dial, not retried with backoff.
func TestDialTimeoutIsFinal(t *testing.T) {
	t.Setenv("GCE_METADATA_HOST", "127.0.0.1:1")
	var dials int
	hc := transport.NewClient(transport.Policy{Peer: "metadata server", Cleartext: transport.CleartextAny, DialTimeout: time.Nanosecond, FinalDialTimeout: true})
	inner := hc.Transport
	hc.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		dials++
		return inner.RoundTrip(req)
	})
	client := metadata.NewWithOptions(&metadata.Options{Client: hc})
	start := time.Now()
	_, err := (&MetadataSource{Client: client, ServiceAccount: "default", Audience: "a"}).Token(context.Background())
	checkErr(t, err, "cannot reach the metadata server at 127.0.0.1:1: connect timed out after 1ns", "is this running on Google Cloud?")
	if dials != 1 {
		t.Errorf("%d dials, want 1", dials)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("gave up after %s", d)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestErrorsCarryData: the errors of the metadata source, generateIdToken
// and the token endpoints carry what the peer answered as data (issue 24).
func TestErrorsCarryData(t *testing.T) {
	s := startGoogle(t)
	s.Metadata.FailNext(403, 403, 403)
	_, err := (&MetadataSource{ServiceAccount: "default", Audience: "a"}).Token(context.Background())
	var me *MetadataError
	if !errors.As(err, &me) || me.Status != 403 || me.Host != s.MetadataHost || me.Account != "default" {
		t.Errorf("metadata: %#v from %v", me, err)
	}
	s.Google.FailNext(fakes.GoogleFault{Status: 429, Message: "Quota exceeded"}, fakes.GoogleFault{Status: 429, Message: "Quota exceeded"}, fakes.GoogleFault{Status: 429, Message: "Quota exceeded"})
	writeADC(t, s.Google, fakes.ServiceAccountKey)
	_, err = iamSource(s).Token(context.Background())
	var ie *IAMError
	if !errors.As(err, &ie) || ie.Status != 429 || ie.Tries != 3 || ie.Target != fakes.TargetEmail || !errors.Is(err, ErrThrottled) {
		t.Errorf("IAM: %#v from %v", ie, err)
	}
	s.Google.ExpireLogin(false)
	writeADC(t, s.Google, fakes.AuthorizedUser)
	_, err = iamSource(s).Token(context.Background())
	var ae *ADCError
	if !errors.As(err, &ae) || ae.Answer == nil || ae.Answer.Status != 400 || ae.Code != "invalid_grant" || ae.ADC.Type != AuthorizedUser {
		t.Errorf("token endpoint: %#v from %v", ae, err)
	}
}
