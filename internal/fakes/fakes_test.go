package fakes_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

// get asks the metadata fake at base for path, with the Metadata-Flavor
// header unless bare.
func get(t *testing.T, base, path string, bare bool) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bare {
		req.Header.Set("Metadata-Flavor", "Google")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

const identity = "/computeMetadata/v1/instance/service-accounts/default/identity?audience=sts.amazonaws.com"

func newMetadata(t *testing.T) (*fakes.Metadata, string) {
	t.Helper()
	md, err := fakes.NewMetadata()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(md)
	t.Cleanup(srv.Close)
	return md, srv.URL
}

// claims checks tok's RS256 signature against key and returns its claims.
func claims(t *testing.T, key *rsa.PublicKey, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	var header map[string]string
	decode(t, parts[0], &header)
	if diff := cmp.Diff(map[string]string{"alg": "RS256", "kid": fakes.DefaultKeyID, "typ": "JWT"}, header); diff != "" {
		t.Errorf("JOSE header (-want +got):\n%s", diff)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	var c map[string]any
	decode(t, parts[1], &c)
	return c
}

func decode(t *testing.T, part string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func keysOf(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	return sortStrings(k)
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func TestMetadataTokens(t *testing.T) {
	md, base := newMetadata(t)
	resp, tok := get(t, base, identity, false)
	if resp.StatusCode != 200 || resp.Header.Get("Metadata-Flavor") != "Google" {
		t.Fatalf("status %d, Metadata-Flavor %q", resp.StatusCode, resp.Header.Get("Metadata-Flavor"))
	}
	c := claims(t, &md.Key.PublicKey, tok)
	if diff := cmp.Diff([]string{"aud", "azp", "exp", "iat", "iss", "sub"}, keysOf(c)); diff != "" {
		t.Errorf("standard-format claims (-want +got):\n%s", diff)
	}
	if c["iss"] != "https://accounts.google.com" || c["aud"] != "sts.amazonaws.com" || c["azp"] != fakes.DefaultUniqueID || c["sub"] != fakes.DefaultUniqueID {
		t.Errorf("claims %v", c)
	}
	if life := c["exp"].(float64) - c["iat"].(float64); life != 3600 {
		t.Errorf("token lives %vs, want 3600", life)
	}

	// The default metadata server: full format adds the email, and no
	// compute_engine claim until it acts as a VM.
	_, tok = get(t, base, identity+"&format=full", false)
	c = claims(t, &md.Key.PublicKey, tok)
	if c["email"] != fakes.DefaultEmail || c["email_verified"] != true || c["google"] != nil {
		t.Errorf("full format: email %v, email_verified %v, google %v", c["email"], c["email_verified"], c["google"])
	}
	if diff := cmp.Diff([]string{"", "full"}, md.Formats()); diff != "" {
		t.Errorf("Formats (-want +got):\n%s", diff)
	}
	if got := len(md.Minted()); got != 2 {
		t.Errorf("Minted holds %d tokens, want 2", got)
	}
}

func TestMetadataErrors(t *testing.T) {
	md, base := newMetadata(t)
	for _, tc := range []struct {
		name, path string
		bare       bool
		status     int
		body       string
	}{
		{"no Metadata-Flavor", identity, true, 403, "Missing required header: Metadata-Flavor\n"},
		{"no audience", "/computeMetadata/v1/instance/service-accounts/default/identity", false, 400, "non-empty audience parameter required\n"},
		{"unknown account", "/computeMetadata/v1/instance/service-accounts/nobody@example.com/identity?audience=x", false, 404, "404 page not found\n"},
		{"email", "/computeMetadata/v1/instance/service-accounts/default/email", false, 200, fakes.DefaultEmail},
	} {
		resp, body := get(t, base, tc.path, tc.bare)
		if resp.StatusCode != tc.status || body != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.name, resp.StatusCode, body, tc.status, tc.body)
		}
	}

	md.FailNext(503, 500)
	md.AnswerWith("<html>portal</html>")
	for _, want := range []string{"503 Service Unavailable\n", "500 Internal Server Error\n", "200 <html>portal</html>"} {
		resp, body := get(t, base, identity, false)
		if got := resp.Status[:4] + body; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if got := md.Requests(); got != 4 { // the three, and the one without audience
		t.Errorf("Requests() = %d, want 4", got)
	}
	md.AnswerWith("")

	md.Delay(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+identity, nil)
	req.Header.Set("Metadata-Flavor", "Google")
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a delayed answer came before the deadline: %v", err)
	}
	md.Delay(0)

	md.Skew(-2 * time.Hour)
	_, tok := get(t, base, identity, false)
	if exp := claims(t, &md.Key.PublicKey, tok)["exp"].(float64); int64(exp) > time.Now().Add(-time.Hour+time.Minute).Unix() {
		t.Errorf("skewed token expires at %v, want an hour ago", time.Unix(int64(exp), 0))
	}
}

// TestMetadataPlatforms checks what each platform's metadata server puts in
// a token and how it answers format=full.
func TestMetadataPlatforms(t *testing.T) {
	md, base := newMetadata(t)

	md.ActAs(fakes.ComputeEngine)
	_, tok := get(t, base, identity+"&format=full", false)
	c := claims(t, &md.Key.PublicKey, tok)
	ce, _ := c["google"].(map[string]any)["compute_engine"].(map[string]any)
	if ce["instance_name"] != fakes.DefaultInstanceName || ce["project_id"] != "demo-project" || c["email"] != fakes.DefaultEmail {
		t.Errorf("Compute Engine full-format claims: %v", c)
	}

	md.ActAs(fakes.GKE)
	resp, body := get(t, base, identity+"&format=full", false)
	if resp.StatusCode != 400 || body != fakes.GKEFullFormatError+"\n" || resp.Header.Get("Server") != "GKE Metadata Server" {
		t.Errorf("GKE, format=full: %d %q (Server %q), want 400 %q", resp.StatusCode, body, resp.Header.Get("Server"), fakes.GKEFullFormatError)
	}
	resp, tok = get(t, base, identity+"&format=standard", false)
	if resp.StatusCode != 200 {
		t.Fatalf("GKE, format=standard: %d %q", resp.StatusCode, tok)
	}
	c = claims(t, &md.Key.PublicKey, tok)
	if diff := cmp.Diff([]string{"aud", "azp", "exp", "iat", "iss", "sub"}, keysOf(c)); diff != "" {
		t.Errorf("GKE standard-format claims (-want +got):\n%s", diff)
	}
	resp, body = get(t, base, identity, true)
	if want := "GKE Metadata Server encountered an error: Missing required header \"Metadata-Flavor\": \"Google\"\n"; resp.StatusCode != 403 || body != want {
		t.Errorf("GKE without Metadata-Flavor: %d %q, want 403 %q", resp.StatusCode, body, want)
	}
	if diff := cmp.Diff([]string{"full", "standard"}, md.Formats()[1:]); diff != "" {
		t.Errorf("Formats (-want +got):\n%s", diff)
	}

	md.ActAs(fakes.CloudRun)
	_, tok = get(t, base, identity+"&format=full", false)
	c = claims(t, &md.Key.PublicKey, tok)
	if c["email"] != fakes.DefaultEmail || c["google"] != nil {
		t.Errorf("Cloud Run full-format claims: email %v, google %v", c["email"], c["google"])
	}

	md.OmitFlavorHeader(true)
	resp, _ = get(t, base, identity, false)
	if _, present := resp.Header["Metadata-Flavor"]; present || resp.StatusCode != 200 {
		t.Errorf("OmitFlavorHeader: status %d, Metadata-Flavor %q", resp.StatusCode, resp.Header.Values("Metadata-Flavor"))
	}
	if resp, _ := get(t, base, identity, true); resp.StatusCode != 403 {
		t.Errorf("OmitFlavorHeader: a request without the header got %d, want 403 still", resp.StatusCode)
	}
}

// refused reports whether host:port refuses connections outright.
func refused(t *testing.T, host string) bool {
	t.Helper()
	c, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err == nil {
		c.Close()
		return false
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s: %v, want connection refused", host, err)
	}
	return true
}

func TestStartWithGKE(t *testing.T) {
	start := time.Now()
	srv, err := fakes.StartWith(fakes.Options{Platform: fakes.GKE, RefuseMetadataFor: 300 * time.Millisecond, OmitFlavorHeader: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !refused(t, srv.MetadataHost) {
		t.Fatal("the GKE metadata server accepted a connection at once")
	}
	if runtime.GOOS == "linux" {
		if l, err := net.Listen("tcp", srv.MetadataHost); err == nil {
			l.Close()
			t.Error("another listener took the port during the refusal")
		}
	}
	base := "http://" + srv.MetadataHost
	deadline := time.Now().Add(5 * time.Second)
	for refused(t, srv.MetadataHost) {
		if time.Now().After(deadline) {
			t.Fatal("the metadata server still refuses after 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Errorf("listening after %v, before the 300ms refusal ended", waited)
	}
	resp, body := get(t, base, identity+"&format=full", false)
	if resp.StatusCode != 400 || resp.Header.Get("Metadata-Flavor") != "" {
		t.Errorf("format=full: %d %q, Metadata-Flavor %q", resp.StatusCode, body, resp.Header.Get("Metadata-Flavor"))
	}
	if resp, _ := get(t, base, identity, false); resp.StatusCode != 200 {
		t.Errorf("standard format: %d", resp.StatusCode)
	}
}

func TestRefuseMetadataFor(t *testing.T) {
	srv, err := fakes.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	host := srv.MetadataHost
	if refused(t, host) {
		t.Fatal("Start's metadata server refuses")
	}

	ready, err := srv.RefuseMetadataFor(200 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if !refused(t, host) {
		t.Fatal("still accepting after RefuseMetadataFor")
	}
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("not listening again after 5s")
	}
	if resp, _ := get(t, "http://"+host, identity, false); resp.StatusCode != 200 {
		t.Errorf("after the refusal: %d", resp.StatusCode)
	}

	// Stopped, it refuses until brought back on the same port.
	srv.StopMetadata()
	if !refused(t, host) {
		t.Fatal("accepting after StopMetadata")
	}
	ready, err = srv.RefuseMetadataFor(0)
	if err != nil {
		t.Fatal(err)
	}
	<-ready
	if resp, _ := get(t, "http://"+host, identity, false); resp.StatusCode != 200 {
		t.Errorf("brought back: %d", resp.StatusCode)
	}

	// Close during a refusal ends it without listening.
	ready, err = srv.RefuseMetadataFor(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	select {
	case <-ready:
	case <-time.After(time.Second):
		t.Fatal("Close did not end the refusal")
	}
	if !refused(t, host) {
		t.Error("accepting after Close")
	}
	if _, err := srv.RefuseMetadataFor(0); err == nil {
		t.Error("RefuseMetadataFor after Close succeeded")
	}
}

// stsClient is aws-sdk-go-v2's own STS client aimed at the fake, with no
// retries so each fault is seen.
func stsClient(endpoint string, creds aws.CredentialsProvider) *sts.Client {
	return sts.New(sts.Options{
		BaseEndpoint:     aws.String(endpoint),
		Region:           "us-east-1",
		Credentials:      creds,
		RetryMaxAttempts: 1,
	})
}

func static(c aws.Credentials) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })
}

func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func startSandbox(t *testing.T) (*fakes.Servers, string) {
	t.Helper()
	srv, err := fakes.StartWith(fakes.Options{Platform: fakes.ComputeEngine, Roles: fakes.SandboxRoles()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	tok, err := srv.Metadata.Mint(srv.Metadata.Accounts["default"], "sts.amazonaws.com", true)
	if err != nil {
		t.Fatal(err)
	}
	return srv, tok
}

func assume(t *testing.T, srv *fakes.Servers, role, tok string, seconds int32) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	t.Helper()
	in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(role), RoleSessionName: aws.String("demo-vm"), WebIdentityToken: aws.String(tok)}
	if seconds != 0 {
		in.DurationSeconds = aws.Int32(seconds)
	}
	return stsClient(srv.STSURL, aws.AnonymousCredentials{}).AssumeRoleWithWebIdentity(context.Background(), in)
}

// TestSandboxRoles assumes each sandbox role through the Go SDK.
func TestSandboxRoles(t *testing.T) {
	srv, tok := startSandbox(t)
	out, err := assume(t, srv, fakes.AllowedRole, tok, 0)
	if err != nil {
		t.Fatalf("AllowedRole: %v", err)
	}
	if got, want := aws.ToString(out.AssumedRoleUser.Arn), "arn:aws:sts::123456789012:assumed-role/aws-allow-gcp-access/demo-vm"; got != want {
		t.Errorf("assumed-role ARN %q, want %q", got, want)
	}
	if life := time.Until(aws.ToTime(out.Credentials.Expiration)); life < 59*time.Minute || life > time.Hour {
		t.Errorf("credentials live %v, want 1h", life)
	}
	if aws.ToString(out.SubjectFromWebIdentityToken) != fakes.DefaultUniqueID || aws.ToString(out.Provider) != "accounts.google.com" {
		t.Errorf("subject %q, provider %q", aws.ToString(out.SubjectFromWebIdentityToken), aws.ToString(out.Provider))
	}
	if _, err := assume(t, srv, fakes.AllowedRole, tok, 7200); err != nil {
		t.Errorf("AllowedRole for 2h: %v", err)
	}

	for _, tc := range []struct {
		role    string
		seconds int32
		want    string
	}{
		{fakes.DeniedRole, 0, "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{"arn:aws:iam::123456789012:role/no-such-role", 0, "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{fakes.OneHourRole, 7200, "ValidationError: The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{"arn:aws:iam::123456789012:user/bob", 0, "ValidationError: Request ARN is invalid"},
	} {
		_, err := assume(t, srv, tc.role, tok, tc.seconds)
		if got := errorCode(err); got != tc.want {
			t.Errorf("%s for %ds: %q, want %q", tc.role, tc.seconds, got, tc.want)
		}
	}
	if _, err := assume(t, srv, fakes.OneHourRole, tok, 3600); err != nil {
		t.Errorf("OneHourRole for 1h: %v", err)
	}

	// Trust is checked on the claims: another audience is refused.
	other, _ := srv.Metadata.Mint(srv.Metadata.Accounts["default"], "https://my-service.run.app", true)
	if _, err := assume(t, srv, fakes.AllowedRole, other, 0); !strings.HasPrefix(errorCode(err), "AccessDenied:") {
		t.Errorf("token for another audience: %v, want AccessDenied", err)
	}
	for _, r := range srv.STS.Received() {
		if r.Authorization != "" || r.ContentType != "application/x-www-form-urlencoded" {
			t.Errorf("AssumeRoleWithWebIdentity request: Authorization %q, Content-Type %q", r.Authorization, r.ContentType)
		}
	}
}

// TestSTSTokenChecks covers what STS checks in the token itself.
func TestSTSTokenChecks(t *testing.T) {
	srv, tok := startSandbox(t)
	parts := strings.Split(tok, ".")
	forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString([]byte("not a signature"))
	srv.Metadata.Skew(-2 * time.Hour)
	expired, _ := srv.Metadata.Mint(srv.Metadata.Accounts["default"], "sts.amazonaws.com", true)
	for _, tc := range []struct{ name, tok, want string }{
		{"forged", forged, "InvalidIdentityToken: Token signature verification failed"},
		{"access token", "ya29.not-a-jwt", "InvalidIdentityToken: The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"},
		{"expired", expired, "ExpiredTokenException: Token expired: current date/time "},
	} {
		_, err := assume(t, srv, fakes.AllowedRole, tc.tok, 0)
		if got := errorCode(err); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want %q…", tc.name, got, tc.want)
		}
	}

	srv.STS.FailNext(fakes.Throttled)
	if _, err := assume(t, srv, fakes.AllowedRole, tok, 0); errorCode(err) != "Throttling: Rate exceeded" {
		t.Errorf("after FailNext(Throttled): %v", err)
	}
	if _, err := assume(t, srv, fakes.AllowedRole, tok, 0); err != nil {
		t.Errorf("the fault was answered twice: %v", err)
	}
}

// TestGetCallerIdentity signs GetCallerIdentity with the Go SDK's own
// SigV4 signer and the keys the fake issued, then with keys it must refuse.
func TestGetCallerIdentity(t *testing.T) {
	srv, tok := startSandbox(t)
	out, err := assume(t, srv, fakes.AllowedRole, tok, 0)
	if err != nil {
		t.Fatal(err)
	}
	issued := aws.Credentials{
		AccessKeyID:     aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(out.Credentials.SessionToken),
		Source:          "test",
	}
	id, err := stsClient(srv.STSURL, static(issued)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with the issued keys: %v", err)
	}
	if got, want := aws.ToString(id.Arn), aws.ToString(out.AssumedRoleUser.Arn); got != want {
		t.Errorf("Arn %q, want %q", got, want)
	}
	if aws.ToString(id.Account) != fakes.SandboxAccount || aws.ToString(id.UserId) != aws.ToString(out.AssumedRoleUser.AssumedRoleId) {
		t.Errorf("Account %q, UserId %q", aws.ToString(id.Account), aws.ToString(id.UserId))
	}

	wrongSecret, wrongToken, unknown := issued, issued, issued
	wrongSecret.SecretAccessKey = strings.ToLower(issued.SecretAccessKey)
	wrongToken.SessionToken = issued.SessionToken[:len(issued.SessionToken)-4]
	unknown.AccessKeyID = "ASIAUNKNOWN0000000"
	for _, tc := range []struct {
		name  string
		creds aws.CredentialsProvider
		want  string
	}{
		{"unsigned", aws.AnonymousCredentials{}, "MissingAuthenticationToken: Request is missing Authentication Token"},
		{"wrong secret key", static(wrongSecret), "SignatureDoesNotMatch: The request signature we calculated does not match"},
		{"wrong session token", static(wrongToken), "InvalidClientTokenId: The security token included in the request is invalid."},
		{"unknown access key", static(unknown), "InvalidClientTokenId: The security token included in the request is invalid."},
	} {
		_, err := stsClient(srv.STSURL, tc.creds).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		if got := errorCode(err); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want %q…", tc.name, got, tc.want)
		}
	}

	srv.STS.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	_, err = stsClient(srv.STSURL, static(issued)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if got, want := errorCode(err), "ExpiredToken: The security token included in the request is expired"; got != want {
		t.Errorf("expired keys: %q, want %q", got, want)
	}
}

// TestSTSOtherCalls checks that what is not one of its two actions gets an
// STS error naming what the fake serves, not a credential.
func TestSTSOtherCalls(t *testing.T) {
	srv, _ := startSandbox(t)
	for _, tc := range []struct {
		name, method, body, want string
	}{
		{"S3 ListBuckets", "GET", "", "only the STS actions AssumeRoleWithWebIdentity and GetCallerIdentity"},
		{"JSON protocol", "POST", `{"TableName":"t"}`, "only the STS actions AssumeRoleWithWebIdentity and GetCallerIdentity"},
		{"another STS action", "POST", url.Values{"Action": {"GetSessionToken"}, "Version": {"2011-06-15"}}.Encode(), "Could not find operation GetSessionToken for version 2011-06-15"},
	} {
		req, _ := http.NewRequest(tc.method, srv.STSURL+"/", strings.NewReader(tc.body))
		if tc.method == "POST" && strings.HasPrefix(tc.body, "Action") {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), "<Code>InvalidAction</Code>") || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, b)
		}
	}
}
