package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cli"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

// TestHostileGoogleEchoes runs every ADC type against a Google that
// echoes every secret it was ever sent (raw, URL-encoded, base64), at
// every step of the type's path: the first N requests are answered
// honestly and the next one with the echo, for N from 0 until the run
// succeeds. No 16-character fragment of any secret may reach stdout,
// stderr, doctor --json, or serve's log (exec --serve) (issue 23, item 2).
func TestHostileGoogleEchoes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary about a hundred times")
	}
	srv := startFakes(t)
	bin, err := exec.LookPath(cli.Name)
	if err != nil {
		t.Fatal(err)
	}
	g, err := fakes.NewGoogle(srv.Metadata.Key)
	if err != nil {
		t.Fatal(err)
	}
	h := &fakes.HostileGoogle{Google: g}
	hs := httptest.NewServer(h)
	defer hs.Close()
	g.URL = hs.URL
	// The url source's header is a secret of its own.
	headerSecret := "source-header-secret-" + randomHex(t)
	us := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Source-Key") != headerSecret {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte(fakes.SubjectToken))
	}))
	defer us.Close()

	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT", hs.URL)
	t.Setenv("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES", "1")
	subject := filepath.Join(dir, "subject-token")
	if err := os.WriteFile(subject, []byte(fakes.SubjectToken), 0o600); err != nil {
		t.Fatal(err)
	}
	program := filepath.Join(dir, "source.sh")
	if err := os.WriteFile(program, []byte(`echo '{"version":1,"success":true,"token_type":"urn:ietf:params:oauth:token-type:jwt","id_token":"`+fakes.SubjectToken+`"}'`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sources := map[string]map[string]any{
		"file":       {"file": subject},
		"url":        {"url": us.URL + "/subject", "headers": map[string]string{"X-Source-Key": headerSecret}},
		"executable": {"executable": map[string]any{"command": "/bin/sh " + program}},
	}
	type variant struct{ kind, source string }
	var variants []variant
	for _, k := range fakes.ADCKinds {
		if k != fakes.ExternalAccount {
			variants = append(variants, variant{k, ""})
		}
	}
	for _, s := range []string{"file", "url", "executable"} {
		variants = append(variants, variant{fakes.ExternalAccount, s})
	}
	role := "arn:aws:iam::123456789012:role/r"
	for _, v := range variants {
		name := v.kind + map[bool]string{true: "/" + v.source}[v.source != ""]
		t.Run(name, func(t *testing.T) {
			b, err := g.ADCFile(v.kind, subject)
			if err != nil {
				t.Fatal(err)
			}
			var adc map[string]any
			if err := json.Unmarshal(b, &adc); err != nil {
				t.Fatal(err)
			}
			if v.source != "" {
				adc["credential_source"] = sources[v.source]
			}
			b, _ = json.Marshal(adc)
			p := filepath.Join(dir, strings.ReplaceAll(name, "/", "-")+".json")
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", p)
			secrets := append(g.Secrets(), headerSecret)
			for _, f := range []string{"private_key", "refresh_token", "client_secret"} {
				if s, ok := adc[f].(string); ok {
					secrets = append(secrets, s)
				}
			}
			var received []string
			succeeded := false
			for pass := 0; pass < 10 && !succeeded; pass++ {
				var outs []string
				for _, args := range [][]string{
					{"--impersonate", fakes.TargetEmail, "--role", role, "--timeout", "10s"},
					{"doctor", "--json", "--impersonate", fakes.TargetEmail, "--role", role, "--timeout", "10s"},
					{"exec", "--serve", "--impersonate", fakes.TargetEmail, "--role", role, "--timeout", "10s", "--", "true"},
				} {
					h.SetPass(pass)
					var stdout, stderr bytes.Buffer
					cmd := exec.Command(bin, args...)
					cmd.Stdout, cmd.Stderr = &stdout, &stderr
					cmd.WaitDelay = 5 * time.Second
					err := cmd.Run()
					if args[0] == "--impersonate" && err == nil {
						succeeded = true
					}
					outs = append(outs, stdout.String(), stderr.String())
					received = append(received, h.Received()...)
				}
				all := append(secrets, received...)
				for i, out := range outs {
					if frag := leaked(out, all); frag != "" {
						t.Errorf("pass %d, output %d holds %q of a secret:\n%s", pass, i, frag, out)
					}
				}
				if pass == 0 && !strings.Contains(outs[1], "you sent") && !strings.Contains(outs[1], "REDACTED") {
					t.Logf("pass 0: the echo did not reach the message:\n%s", outs[1])
				}
			}
			if !succeeded {
				t.Errorf("no run succeeded with every step answered honestly")
			}
		})
	}
}

// leaked returns a 16-character fragment of a secret, in any of the forms
// the hostile fake echoes, that out holds, or "".
func leaked(out string, secrets []string) string {
	const gram = 16
	for _, s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s), base64.StdEncoding.EncodeToString([]byte(s)), base64.URLEncoding.EncodeToString([]byte(s))} {
			for i := 0; i+gram <= len(form); i++ {
				if strings.Contains(out, form[i:i+gram]) {
					return form[i : i+gram]
				}
			}
		}
	}
	return ""
}

func randomHex(t *testing.T) string {
	return strings.ReplaceAll(base64.RawURLEncoding.EncodeToString([]byte(time.Now().String())), "-", "x")
}
