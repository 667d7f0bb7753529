package fakes

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestGoogleVerifiesAssertions holds the fake token endpoint to what makes
// the service_account tests mean something: an assertion signed with the
// ADC file's key is accepted, one signed with any other key, for another
// audience or expired is refused with invalid_grant.
func TestGoogleVerifiesAssertions(t *testing.T) {
	md, err := NewMetadata()
	if err != nil {
		t.Fatal(err)
	}
	g, err := StartGoogle(md.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := g.ADCFile(ServiceAccountKey, ""); err != nil { // makes the key
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	claims := func(aud string, iat int64) map[string]any {
		return map[string]any{"iss": KeyEmail, "aud": aud, "scope": "https://www.googleapis.com/auth/cloud-platform", "iat": iat, "exp": iat + 3600}
	}
	tokenURL := g.URL + "/token"
	for _, tc := range []struct {
		name   string
		key    *rsa.PrivateKey
		claims map[string]any
		want   string // error_description, or "" for success
	}{
		{"the file's key", g.saKey, claims(tokenURL, now), ""},
		{"another key", other, claims(tokenURL, now), "Invalid JWT Signature."},
		{"another audience", g.saKey, claims("https://oauth2.googleapis.com/token", now), "Invalid JWT: audience"},
		{"expired", g.saKey, claims(tokenURL, now-7200), "Invalid JWT: Token must be a short-lived token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertion, err := SignRS256(tc.key, "k", tc.claims)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.PostForm(tokenURL, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			switch {
			case tc.want == "" && (resp.StatusCode != 200 || body["access_token"] == nil):
				t.Errorf("HTTP %d %v, want an access token", resp.StatusCode, body)
			case tc.want != "" && (resp.StatusCode != 400 || body["error"] != "invalid_grant" || !strings.HasPrefix(body["error_description"].(string), tc.want)):
				t.Errorf("HTTP %d %v, want invalid_grant %q", resp.StatusCode, body, tc.want)
			}
		})
	}
}
