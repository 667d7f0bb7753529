package ops

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// TestConsoleCABundle: the federation request trusts the CA bundle that
// the STS request trusts (--ca-bundle, AWS_CA_BUNDLE), so that console
// works behind the TLS-inspecting proxy the bundle is for.
func TestConsoleCABundle(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/r"
	srv, err := fakes.StartWith(fakes.Options{Roles: map[string]fakes.Role{role: {MaxSessionDuration: time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	t.Setenv("GCE_METADATA_HOST", srv.MetadataHost)
	fed := httptest.NewTLSServer(&fakes.Federation{STS: srv.STS})
	t.Cleanup(fed.Close)
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fed.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	o := cred.Options{Role: role, STSEndpoint: srv.STSURL, Duration: time.Hour,
		TokenOptions: cred.TokenOptions{Audience: "sts.amazonaws.com", ServiceAccount: "default", Timeout: 10 * time.Second}}
	c := Console{FederationEndpoint: fed.URL + "/federation", Destination: "https://us-east-1.console.aws.amazon.com/"}

	if _, err := c.link(context.Background(), &o); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("without the bundle: %v", err)
	}
	o.CABundle = bundle
	link, err := c.link(context.Background(), &o)
	if err != nil {
		t.Fatalf("with the bundle: %v", err)
	}
	if !strings.HasPrefix(link.Reveal(), c.FederationEndpoint+"?Action=login&") {
		t.Errorf("link %s", link.Reveal())
	}
}

// TestFederationEndpointChecked: an endpoint given by the user is checked
// by transport.CheckEndpoint before any call; a bare trailing '?' counts as
// a query (the request would go to …/federation??Action=…).
func TestFederationEndpointChecked(t *testing.T) {
	o := &cred.Options{Role: "arn:aws:iam::123456789012:role/r"}
	for endpoint, want := range map[string]string{
		"https://signin.example.com/federation":   "",
		"http://127.0.0.1:8080/federation":        "",
		"https://signin.example.com/federation?":  `--federation-endpoint "https://signin.example.com/federation?" is not an http(s) URL without a query`,
		"https://signin.example.com/federation#x": `--federation-endpoint "https://signin.example.com/federation#x" is not an http(s) URL without a query`,
		"signin.aws.amazon.com":                   `--federation-endpoint "signin.aws.amazon.com" is not an http(s) URL without a query`,
		"https://u:p@signin.example.com/":         "--federation-endpoint https://signin.example.com carries user information; refusing it",
		"http://signin.example.com/federation":    "refusing cleartext federation endpoint http://signin.example.com/federation: the credentials and the sign-in token would cross the network unencrypted",
	} {
		_, _, err := (&Console{FederationEndpoint: endpoint}).check(o, "us-east-1")
		if got := fmt.Sprint(err); (want == "" && err != nil) || (want != "" && got != want) {
			t.Errorf("%s: %v, want %q", endpoint, err, want)
		}
	}
}

// TestSigninAnswerTooLarge: an answer past maxSigninAnswer is refused with
// its own words, not as an unreadable answer. The cap shows up on the
// body's Read, not on client.Do, which the check once sat behind.
func TestSigninAnswerTooLarge(t *testing.T) {
	fed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"SigninToken":%q}`, strings.Repeat("t", maxSigninAnswer))
	}))
	t.Cleanup(fed.Close)
	client := transport.NewClient(transport.Policy{Peer: "federation endpoint", MaxBody: maxSigninAnswer})
	creds := awscred.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: secret.New("s"), SessionToken: secret.New("t")}
	_, err := signinLink(context.Background(), client, creds, fed.URL+"/federation", "https://console.aws.amazon.com/", nil)
	want := "the answer from the federation endpoint " + fed.URL + "/federation is larger than 64 KiB; a sign-in token is about 1 KB"
	if fmt.Sprint(err) != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}
