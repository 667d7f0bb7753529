package serve

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// imdsDo sends one IMDS request with the given headers.
func imdsDo(t *testing.T, method, url string, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// TestIMDS: with IMDS on, a session token from PUT /latest/api/token opens
// the role name and EC2's credentials document; without a valid one every
// GET gets 401 (IMDSv2 only); a bad TTL gets 400 and X-Forwarded-For 403.
func TestIMDS(t *testing.T) {
	log := &syncBuffer{}
	srv, f := startServer(t, Config{IMDS: true, Logger: NewLogger(log, LogPlain, false)}, time.Hour)
	base := srv.IMDSEndpoint()
	if base != "http://"+srv.Addr()+"/" {
		t.Fatalf("IMDSEndpoint %q, want the address with a trailing slash", base)
	}
	if !strings.Contains(log.String(), "warning: --imds: any local process that can reach "+srv.Addr()+" gets the credentials") {
		t.Errorf("no warning in the log:\n%s", log)
	}
	list := base + "latest/meta-data/iam/security-credentials/"
	for name, h := range map[string]map[string]string{
		"no token":    nil,
		"wrong token": {"X-aws-ec2-metadata-token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
	} {
		if a := imdsDo(t, "GET", list, h); a.status != 401 || strings.Contains(a.body, "AccessKeyId") {
			t.Errorf("GET with %s: %d %s", name, a.status, a.body)
		}
		if a := imdsDo(t, "GET", list+"r", h); a.status != 401 || strings.Contains(a.body, "AccessKeyId") {
			t.Errorf("GET the document with %s: %d %s", name, a.status, a.body)
		}
	}
	for _, ttl := range []string{"", "0", "21601", "1h"} {
		if a := imdsDo(t, "PUT", base+"latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": ttl}); a.status != 400 {
			t.Errorf("PUT with TTL %q: %d %s", ttl, a.status, a.body)
		}
	}
	if a := imdsDo(t, "GET", base+"latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"}); a.status != 405 || a.header.Get("Allow") != "PUT" {
		t.Errorf("GET the token: %d %q", a.status, a.header.Get("Allow"))
	}
	if a := imdsDo(t, "PUT", base+"latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "10.0.0.1"}); a.status != 403 {
		t.Errorf("PUT with X-Forwarded-For: %d %s", a.status, a.body)
	}
	a := imdsDo(t, "PUT", base+"latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
	if a.status != 200 || len(a.body) < 40 || a.header.Get("X-aws-ec2-metadata-token-ttl-seconds") != "21600" {
		t.Fatalf("PUT the token: %d %q %v", a.status, a.body, a.header)
	}
	tok := map[string]string{"X-aws-ec2-metadata-token": a.body}
	if a := imdsDo(t, "GET", list, tok); a.status != 200 || a.body != "r" {
		t.Errorf("the role list: %d %q, want r", a.status, a.body)
	}
	if a := imdsDo(t, "GET", list+"other", tok); a.status != 404 {
		t.Errorf("another role: %d", a.status)
	}
	if a := imdsDo(t, "GET", list+"r", map[string]string{"X-aws-ec2-metadata-token": a.body, "X-Forwarded-For": "10.0.0.1"}); a.status != 403 {
		t.Errorf("GET with X-Forwarded-For: %d", a.status)
	}
	a = imdsDo(t, "GET", list+"r", tok)
	var doc map[string]string
	if err := json.Unmarshal([]byte(a.body), &doc); err != nil || a.status != 200 {
		t.Fatalf("the document: %d %v", a.status, err)
	}
	c, _ := srv.Refresher().Current()
	want := map[string]string{
		"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": c.AccessKeyID,
		"SecretAccessKey": c.SecretAccessKey.Reveal(), "Token": c.SessionToken.Reveal(),
		"Expiration": c.Expiration.UTC().Format(time.RFC3339),
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s: %q, want %q", k, doc[k], v)
		}
	}
	if at, err := time.Parse(time.RFC3339, doc["LastUpdated"]); err != nil || time.Since(at) > time.Minute || len(doc) != 7 {
		t.Errorf("LastUpdated %q (%v); %d fields", doc["LastUpdated"], err, len(doc))
	}
	for _, s := range f.secrets() {
		if strings.Contains(log.String(), s) {
			t.Fatal("the log shows a secret")
		}
	}
	if strings.Contains(log.String(), tok["X-aws-ec2-metadata-token"]) {
		t.Fatal("the log shows the session token")
	}

	// Without --imds nothing of it is served.
	plain, _ := startServer(t, Config{}, time.Hour)
	if a := imdsDo(t, "PUT", "http://"+plain.Addr()+"/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"}); a.status != 404 {
		t.Errorf("PUT without --imds: %d", a.status)
	}
	if plain.IMDSEndpoint() != "" {
		t.Error("an endpoint without --imds")
	}
}

// TestIMDSTokens: a session token is valid until its TTL, and one altered,
// or signed by another server, is not.
func TestIMDSTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newIMDS(testRole)
		short := m.issue(time.Second)
		if !m.valid(short) {
			t.Fatal("a new token is not valid")
		}
		time.Sleep(time.Second)
		if m.valid(short) {
			t.Error("valid past its TTL")
		}
		tok := m.issue(time.Hour)
		end, sig, _ := strings.Cut(tok, ".")
		for name, forged := range map[string]string{
			"stretched":         end + "0." + sig,
			"another server's":  newIMDS(testRole).issue(time.Hour),
			"without signature": end,
			"empty":             "",
		} {
			if m.valid(forged) {
				t.Errorf("%s token %q is valid", name, forged)
			}
		}
	})
}

// TestIMDSNeverLinkLocal: 169.254.169.254 is Google's metadata server on
// Google Cloud; serve never listens there, --imds or not.
func TestIMDSNeverLinkLocal(t *testing.T) {
	if _, err := ListenAddr("169.254.169.254:80"); err == nil || !strings.Contains(err.Error(), "refusing to listen on 169.254.169.254:80") {
		t.Errorf("ListenAddr: %v", err)
	}
}
