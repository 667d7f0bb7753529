package token

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// TestIAMEndpointHostile points generateIdToken at servers that are not the
// IAM Credentials API, or misbehave: each answer is bounded, refused with a
// message that names the endpoint, and never lets the access token out.
func TestIAMEndpointHostile(t *testing.T) {
	at := secret.New("ya29.the-callers-access-token-" + fmt.Sprint(time.Now().UnixNano()))
	a := &ADC{Type: ServiceAccountKey, File: "/adc.json", Member: "serviceAccount:ci@p.iam.gserviceaccount.com"}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    []string
	}{
		{"endless answer", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"token":"`+strings.Repeat("a", MaxGoogleAnswer)+`"}`)
		}, []string{"answered more than 256 KiB; an ID token is about 1 KB"}},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://evil.example.com/steal", http.StatusTemporaryRedirect)
		}, []string{"answered HTTP 307", "check --iam-credentials-endpoint"}},
		{"not a JWT", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"token":"<html>hello</html>"}`)
		}, []string{"answered something that is not an ID token: the answer is an HTML or XML page"}},
		{"no token", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `<html>captive portal</html>`)
		}, []string{"answered HTTP 200 without a token"}},
		{"token too long for STS", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"token":"`+strings.Repeat("a", sts.MaxTokenLen+1)+`"}`)
		}, []string{"answered a token of 20001 characters; STS accepts at most 20000, so it was not sent"}},
		{"echoes the bearer token", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":{"code":400,"message":"bad header %s","status":"INVALID_ARGUMENT"}}`, r.Header.Get("Authorization"))
		}, []string{"refused the request for", "HTTP 400 INVALID_ARGUMENT: bad header " + secret.Redacted}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			src := &IAMSource{Target: fakes.TargetEmail, Audience: DefaultAudience, Endpoint: srv.URL, BaseBackoff: time.Millisecond}
			_, err := src.IDToken(ctx, a, at)
			assertFailure(t, err, append(tc.want, "at "+srv.URL)...)
			var b strings.Builder
			Print(&b, err)
			if strings.Contains(b.String(), at.Reveal()) {
				t.Errorf("the access token is in the message:\n%s", b.String())
			}
		})
	}
}

// TestIAMDeadline: an endpoint that does not answer ends with --timeout,
// said as such, and retries never sleep past the deadline.
func TestIAMDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices a closed connection only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	src := &IAMSource{Target: fakes.TargetEmail, Audience: DefaultAudience, Endpoint: srv.URL}
	start := time.Now()
	_, err := src.IDToken(ctx, &ADC{Type: MetadataAccount, Member: "serviceAccount:x@p.iam.gserviceaccount.com"}, secret.New("ya29.x"))
	// What set the deadline is said where the command line is known.
	err = Explain(300*time.Millisecond, err)
	assertFailure(t, err, "no answer from the IAM Credentials API at "+srv.URL+" before the deadline", "the whole run is bounded by --timeout 300ms")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s with a 300ms deadline", d)
	}
}

// TestTokenEndpointEchoesSecrets: a token endpoint whose error repeats the
// refresh token and client secret it was sent gets them redacted.
func TestTokenEndpointEchoesSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"invalid_request","error_description":"bad refresh_token %s for secret %s"}`, r.PostForm.Get("refresh_token"), r.PostForm.Get("client_secret"))
	}))
	defer srv.Close()
	refresh, clientSecret := "1//echoed-refresh-"+fmt.Sprint(time.Now().UnixNano()), "echoed-secret-"+fmt.Sprint(time.Now().UnixNano())
	p := filepath.Join(t.TempDir(), "adc.json")
	adc := fmt.Sprintf(`{"type":"authorized_user","client_id":"c","client_secret":%q,"refresh_token":%q,"token_uri":%q}`, clientSecret, refresh, srv.URL+"/token")
	if err := os.WriteFile(p, []byte(adc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", p)
	ctx := context.Background()
	a, err := FindADC(ctx, nil, "default")
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.AccessToken(ctx, NewGoogleClient("Google token endpoint", nil))
	assertFailure(t, err, "the token endpoint "+srv.URL+"/token refused the Application Default Credentials in "+p+" (authorized_user): HTTP 400 invalid_request: bad refresh_token "+secret.Redacted+" for secret "+secret.Redacted)
	var b strings.Builder
	Print(&b, err)
	if strings.Contains(b.String(), refresh) || strings.Contains(b.String(), clientSecret) {
		t.Errorf("a secret of the ADC file is in the message:\n%s", b.String())
	}
}

// TestLinkLocalOnlyForSources: plain http:// to a literal link-local
// address is refused for token_uri, token_url and
// service_account_impersonation_url, before anything is sent: a refresh
// token and client secret would cross the local link in clear (issue 23,
// item 6). Only a credential source's own URLs may be link-local.
func TestLinkLocalOnlyForSources(t *testing.T) {
	const ll = "http://169.254.169.254/token"
	for name, adc := range map[string]string{
		"token_uri":                         `{"type":"authorized_user","client_id":"c","client_secret":"link-local-client-secret","refresh_token":"1//link-local-refresh","token_uri":"` + ll + `"}`,
		"token_url":                         `{"type":"external_account","audience":"//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x","subject_token_type":"urn:ietf:params:oauth:token-type:jwt","token_url":"` + ll + `","credential_source":{"file":"SUBJECT"}}`,
		"service_account_impersonation_url": `{"type":"impersonated_service_account","service_account_impersonation_url":"http://169.254.169.254/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com:generateAccessToken","source_credentials":{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r","token_uri":"TOKEN"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"access_token":"ya29.link-local-test","token_type":"Bearer","expires_in":3600}`)
			}))
			defer srv.Close()
			dir := t.TempDir()
			subject := filepath.Join(dir, "subject")
			if err := os.WriteFile(subject, []byte("a-subject-token-for-the-test"), 0o600); err != nil {
				t.Fatal(err)
			}
			adc = strings.NewReplacer("SUBJECT", subject, "TOKEN", srv.URL+"/token").Replace(adc)
			p := filepath.Join(dir, "adc.json")
			if err := os.WriteFile(p, []byte(adc), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", p)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			a, err := FindADC(ctx, nil, "default")
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.AccessToken(ctx, NewGoogleClient("Google token endpoint", nil))
			assertFailure(t, err, "refusing to send the credentials of "+p+" to http://169.254.169.254/", "is refused; only loopback and link-local metadata addresses may be plain http")
		})
	}
}
