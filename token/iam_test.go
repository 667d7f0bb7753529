package token

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

// startGoogle starts the fakes and points ADC at nothing: HOME is empty, so
// gcloud's well-known file is absent, and GOOGLE_APPLICATION_CREDENTIALS is
// unset until adcFile sets it.
func startGoogle(t *testing.T) *fakes.Servers {
	t.Helper()
	s, err := fakes.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("GCE_METADATA_HOST", s.MetadataHost)
	return s
}

// writeADC writes an ADC file of kind and points GOOGLE_APPLICATION_CREDENTIALS
// at it.
func writeADC(t *testing.T, g *fakes.Google, kind string) string {
	t.Helper()
	dir := t.TempDir()
	subject := filepath.Join(dir, "subject-token")
	if err := os.WriteFile(subject, []byte(fakes.SubjectToken), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := g.ADCFile(kind, subject)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "adc.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", p)
	return p
}

func iamSource(s *fakes.Servers, chain ...string) *IAMSource {
	if len(chain) == 0 {
		chain = []string{fakes.TargetEmail}
	}
	return &IAMSource{
		Target: chain[len(chain)-1], Delegates: chain[:len(chain)-1],
		Audience: DefaultAudience, Endpoint: s.Google.URL, ServiceAccount: "default",
		BaseBackoff: time.Millisecond,
	}
}

func TestImpersonateEachADCType(t *testing.T) {
	for _, kind := range append(fakes.ADCKinds, MetadataAccount) {
		t.Run(kind, func(t *testing.T) {
			s := startGoogle(t)
			var file string
			if kind != MetadataAccount {
				file = writeADC(t, s.Google, kind)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			src := iamSource(s)
			a, err := src.FindADC(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if a.Type != kind || a.File != file {
				t.Errorf("ADC = %s from %q, want %s from %q", a.Type, a.File, kind, file)
			}
			wantMember := map[string]string{
				fakes.AuthorizedUser:             "",
				fakes.ServiceAccountKey:          "serviceAccount:" + fakes.KeyEmail,
				fakes.ExternalAccount:            fakes.PoolMember,
				fakes.ImpersonatedServiceAccount: "serviceAccount:" + fakes.DelegateEmail,
				MetadataAccount:                  "serviceAccount:" + fakes.DefaultEmail,
				// The file does not say who logged in.
				fakes.ExternalAccountAuthorizedUser: "",
			}[kind]
			if a.Member != wantMember {
				t.Errorf("Member = %q, want %q", a.Member, wantMember)
			}
			tok, err := src.Token(ctx)
			if err != nil {
				t.Fatalf("Token: %v (hints %q)", err, Hints(err))
			}
			j, err := Decode(tok)
			if err != nil {
				t.Fatal(err)
			}
			c := j.Claims
			if c.AuthorizedParty != fakes.TargetUniqueID || c.Subject != fakes.TargetUniqueID || c.Email != fakes.TargetEmail || c.Audience.String() != DefaultAudience || c.Instance() != nil {
				t.Errorf("claims = %+v, want azp and sub %s, email %s, aud %s, no compute_engine", c, fakes.TargetUniqueID, fakes.TargetEmail, DefaultAudience)
			}
			if got := s.Google.LastRequest(); got["includeEmail"] != true || got["audience"] != DefaultAudience {
				t.Errorf("generateIdToken body = %v", got)
			}
		})
	}
}

// TestWellKnownFileSucceeds: with GOOGLE_APPLICATION_CREDENTIALS unset,
// gcloud's well-known file is the source, and the token comes from it
// (issue 24: no test had it succeed).
func TestWellKnownFileSucceeds(t *testing.T) {
	s := startGoogle(t)
	b, err := s.Google.ADCFile(fakes.AuthorizedUser, "")
	if err != nil {
		t.Fatal(err)
	}
	wk := WellKnownFile()
	if err := os.MkdirAll(filepath.Dir(wk), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wk, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	src := iamSource(s)
	a, err := src.FindADC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.From != FromWellKnown || a.File != wk || a.Type != AuthorizedUser {
		t.Errorf("ADC = %s from %s (%s), want authorized_user from %s (%s)", a.Type, a.From, a.File, FromWellKnown, wk)
	}
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatalf("Token: %v (hints %q)", err, Hints(err))
	}
	if j, err := Decode(tok); err != nil || j.Claims.Email != fakes.TargetEmail {
		t.Errorf("token: %v, %+v", err, j)
	}
}

func TestImpersonateDelegates(t *testing.T) {
	s := startGoogle(t)
	writeADC(t, s.Google, fakes.AuthorizedUser)
	s.Google.Revoke(fakes.TargetEmail, "user:"+fakes.UserEmail)
	ctx := context.Background()
	tok, err := iamSource(s, fakes.DelegateEmail, fakes.TargetEmail).Token(ctx)
	if err != nil {
		t.Fatalf("through the delegate: %v (hints %q)", err, Hints(err))
	}
	if j, _ := Decode(tok); j.Claims.Subject != fakes.TargetUniqueID {
		t.Errorf("sub = %s, want the target's", j.Claims.Subject)
	}
	if got := s.Google.LastRequest()["delegates"]; len(got.([]any)) != 1 || got.([]any)[0] != "projects/-/serviceAccounts/"+fakes.DelegateEmail {
		t.Errorf("delegates = %v", got)
	}
	// Without the delegate, the user has no binding on the target any more.
	_, err = iamSource(s).Token(ctx)
	assertFailure(t, err, "the user who signed in with gcloud (authorized_user in ", "lacks iam.serviceAccounts.getOpenIdToken on "+fakes.TargetEmail,
		"gcloud iam service-accounts add-iam-policy-binding "+fakes.TargetEmail+" --member=user:$(gcloud config get account) --role=roles/iam.serviceAccountOpenIdTokenCreator")
	// And a delegate without the role on the target: each link is named.
	s.Google.Revoke(fakes.TargetEmail, "serviceAccount:"+fakes.DelegateEmail)
	_, err = iamSource(s, fakes.DelegateEmail, fakes.TargetEmail).Token(ctx)
	assertFailure(t, err, "HTTP 403 PERMISSION_DENIED",
		"gcloud iam service-accounts add-iam-policy-binding "+fakes.DelegateEmail+" --member=user:$(gcloud config get account) --role=roles/iam.serviceAccountTokenCreator",
		"gcloud iam service-accounts add-iam-policy-binding "+fakes.TargetEmail+" --member=serviceAccount:"+fakes.DelegateEmail+" --role=roles/iam.serviceAccountOpenIdTokenCreator")
}

// assertFailure checks that err's message and hints, as printed, contain
// each of want.
func assertFailure(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", want)
	}
	var b strings.Builder
	Print(&b, err)
	for _, w := range want {
		if !strings.Contains(b.String(), w) {
			t.Errorf("message lacks %q:\n%s", w, b.String())
		}
	}
}

func TestImpersonateFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("no ADC", func(t *testing.T) {
		s := startGoogle(t)
		s.StopMetadata()
		_, err := iamSource(s).Token(ctx)
		assertFailure(t, err, "no Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS is not set", "application_default_credentials.json does not exist", "the metadata server at "+s.MetadataHost,
			"hint: on a laptop: gcloud auth application-default login", "hint: in CI: set GOOGLE_APPLICATION_CREDENTIALS")
	})
	t.Run("service_account not bound", func(t *testing.T) {
		s := startGoogle(t)
		writeADC(t, s.Google, fakes.ServiceAccountKey)
		s.Google.Revoke(fakes.TargetEmail, "serviceAccount:"+fakes.KeyEmail)
		_, err := iamSource(s).Token(ctx)
		assertFailure(t, err, "serviceAccount:"+fakes.KeyEmail+" (service_account in ", "lacks", "iam.serviceAccounts.getOpenIdToken",
			"gcloud iam service-accounts add-iam-policy-binding "+fakes.TargetEmail+" --member=serviceAccount:"+fakes.KeyEmail+" --role=roles/iam.serviceAccountOpenIdTokenCreator",
			"does not exist: check the email")
	})
	t.Run("unknown target 404", func(t *testing.T) {
		s := startGoogle(t)
		writeADC(t, s.Google, fakes.AuthorizedUser)
		s.Google.FailNext(fakes.GoogleFault{Status: 404, Message: "Not found; Gaia id not found for email nobody@demo-project.iam.gserviceaccount.com"})
		src := iamSource(s, "nobody@demo-project.iam.gserviceaccount.com")
		_, err := src.Token(ctx)
		assertFailure(t, err, "does not know service account nobody@demo-project.iam.gserviceaccount.com (HTTP 404 NOT_FOUND", "check its spelling", "gcloud iam service-accounts list --project=demo-project")
	})
	for _, rapt := range []bool{false, true} {
		name := map[bool]string{false: "invalid_grant", true: "invalid_rapt"}[rapt]
		t.Run(name, func(t *testing.T) {
			s := startGoogle(t)
			file := writeADC(t, s.Google, fakes.AuthorizedUser)
			s.Google.ExpireLogin(rapt)
			_, err := iamSource(s).Token(ctx)
			want := "has expired or was revoked (invalid_grant at " + s.Google.URL + "/token"
			if rapt {
				want = "needs re-authentication (invalid_rapt at " + s.Google.URL + "/token)"
			}
			assertFailure(t, err, "your Google login in "+file, want, "hint: sign in again: gcloud auth application-default login")
		})
	}
	t.Run("retries then succeeds", func(t *testing.T) {
		s := startGoogle(t)
		writeADC(t, s.Google, fakes.AuthorizedUser)
		s.Google.FailNext(fakes.GoogleFault{Status: 503, Message: "The service is currently unavailable."}, fakes.GoogleFault{Status: 429, Message: "Quota exceeded"})
		if _, err := iamSource(s).Token(ctx); err != nil {
			t.Fatalf("after a 503 and a 429: %v", err)
		}
		if n := s.Google.IDTokens(); n != 1 {
			t.Errorf("minted %d tokens, want 1", n)
		}
	})
	t.Run("retries run out", func(t *testing.T) {
		s := startGoogle(t)
		writeADC(t, s.Google, fakes.AuthorizedUser)
		f := fakes.GoogleFault{Status: 503, Message: "The service is currently unavailable."}
		s.Google.FailNext(f, f, f, f)
		_, err := iamSource(s).Token(ctx)
		assertFailure(t, err, "answered HTTP 503 UNAVAILABLE: The service is currently unavailable., 3 times", "try again")
	})
	t.Run("cleartext endpoint", func(t *testing.T) {
		_, err := CheckIAMEndpoint("http://iamcredentials.example.com")
		assertFailure(t, err, "refusing cleartext IAM Credentials endpoint http://iamcredentials.example.com", "http:// is accepted only for loopback")
		if got, err := CheckIAMEndpoint("http://127.0.0.1:8080/"); err != nil || got != "http://127.0.0.1:8080" {
			t.Errorf("loopback endpoint: %q, %v", got, err)
		}
	})
	t.Run("token endpoint unreachable", func(t *testing.T) {
		s := startGoogle(t)
		p := writeADC(t, s.Google, fakes.ServiceAccountKey)
		b, _ := os.ReadFile(p)
		b = []byte(strings.ReplaceAll(string(b), s.Google.URL, "http://127.0.0.1:1"))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := iamSource(s).Token(ctx)
		assertFailure(t, err, "cannot reach the token endpoint http://127.0.0.1:1/token for the Application Default Credentials in "+p+": connection refused", "hint: check the network and any proxy")
	})
	t.Run("cleartext token_uri", func(t *testing.T) {
		s := startGoogle(t)
		p := writeADC(t, s.Google, fakes.AuthorizedUser)
		b, _ := os.ReadFile(p)
		b = []byte(strings.ReplaceAll(string(b), s.Google.URL, "http://oauth2.example.com"))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := iamSource(s).Token(ctx)
		assertFailure(t, err, "refusing to send the credentials of "+p+" to http://oauth2.example.com/token", "must be https://")
		if strings.Contains(err.Error(), fakes.RefreshToken) {
			t.Error("the refresh token is in the message")
		}
	})
}

// TestHintsQuoteADCText: the gcloud lines of hints carry values from the
// ADC file quoted for POSIX shells, so an audience holding $(…) does not
// run when pasted, and principalSet://…/* is not a glob zsh rejects
// (issue 23, item 8); client_email is taken only when it is an email.
func TestHintsQuoteADCText(t *testing.T) {
	hints := func(member string) string {
		a := &ADC{Type: ExternalAccount, File: "/adc.json", Member: member}
		return strings.Join(Hints(&IAMError{Endpoint: DefaultIAMCredentialsEndpoint, Target: fakes.TargetEmail, Status: 403, Caller: a}), "\n")
	}
	got := hints(poolMember("//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p$(touch pwned)/providers/x"))
	want := `--member='principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p$(touch pwned)/*'`
	if !strings.Contains(got, want) {
		t.Errorf("hints:\n%s\nwant %s", got, want)
	}
	for in, want := range map[string]string{
		"serviceAccount:a@b.iam.gserviceaccount.com": "serviceAccount:a@b.iam.gserviceaccount.com",
		"it's":  `'it'\''s'`,
		"a b*":  "'a b*'",
		"$(id)": "'$(id)'",
	} {
		if got := hints(in); !strings.Contains(got, "--member="+want+" ") {
			t.Errorf("member %q: hints\n%s\nwant --member=%s", in, got, want)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "adc.json")
	if err := os.WriteFile(p, []byte(`{"type":"service_account","client_email":"$(touch pwned)@x","private_key":"k"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", p)
	adc, err := FindADC(context.Background(), nil, "default")
	if err != nil || adc.Member != "" {
		t.Errorf("client_email not an email: Member %q, %v", adc.Member, err)
	}
}

// TestTokenURLShown: doctor shows token_uri and token_url as every other
// URL is shown, without user:password@ or the query (issue 23, item 7).
func TestTokenURLShown(t *testing.T) {
	p := filepath.Join(t.TempDir(), "adc.json")
	if err := os.WriteFile(p, []byte(`{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r","token_uri":"https://user:hunter2-password@oauth2.example.com/token?key=query-secret"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", p)
	a, err := FindADC(context.Background(), nil, "default")
	if err != nil {
		t.Fatal(err)
	}
	if a.TokenURL != "https://oauth2.example.com/token" {
		t.Errorf("TokenURL = %q", a.TokenURL)
	}
}
