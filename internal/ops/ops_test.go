package ops

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

var creds = awscred.Credentials{
	AccessKeyID: "ASIANEW", SecretAccessKey: secret.New("newsecret"), SessionToken: secret.New("newtoken"),
	Expiration: time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC),
}

func TestEnviron(t *testing.T) {
	in := []string{"PATH=/bin", "AWS_PROFILE=dev", "AWS_DEFAULT_PROFILE=dev", "AWS_ACCESS_KEY_ID=AKIAOLD",
		"AWS_SECRET_ACCESS_KEY=old", "AWS_SESSION_TOKEN=old", "AWS_SECURITY_TOKEN=old", "AWS_ENDPOINT_URL=https://x", "HOME=/h"}
	want := []string{"PATH=/bin", "AWS_ENDPOINT_URL=https://x", "HOME=/h",
		"AWS_ACCESS_KEY_ID=ASIANEW", "AWS_SECRET_ACCESS_KEY=newsecret", "AWS_SESSION_TOKEN=newtoken",
		"AWS_CREDENTIAL_EXPIRATION=2026-11-29T02:00:00Z", "AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1"}
	if diff := cmp.Diff(want, execEnv(in, creds, "eu-west-1")); diff != "" {
		t.Errorf("execEnv (-want +got):\n%s", diff)
	}
	// --region sets both variables, whatever the environment held
	// (issue 23 item 14: AWS_DEFAULT_REGION was left unset).
	got := strings.Join(execEnv([]string{"AWS_REGION=us-west-2"}, creds, "eu-west-1"), " ")
	if strings.Contains(got, "us-west-2") || !strings.Contains(got, "AWS_REGION=eu-west-1") || !strings.Contains(got, "AWS_DEFAULT_REGION=eu-west-1") {
		t.Errorf("exec --region with AWS_REGION set: %v", got)
	}
}

func TestTokenText(t *testing.T) {
	now := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	info := TokenInfo{MetadataHost: "169.254.169.254", ServiceAccount: "default",
		Header: token.Header{Alg: "RS256", Kid: "k1", Typ: "JWT"},
		Claims: token.Claims{Issuer: "https://accounts.google.com", Audience: token.Audience{"sts.amazonaws.com"},
			AuthorizedParty: "111", Subject: "111", Email: "sa@p.iam.gserviceaccount.com", EmailVerified: true,
			IssuedAt: token.UnixTime(now.Unix()), Expiry: token.UnixTime(now.Add(time.Hour).Unix())}}
	text := string(info.Text(now))
	for _, want := range []string{
		"\nclaims                                         IAM condition key / meaning\n",
		"  azp            111                           accounts.google.com:aud (the service account's unique ID, despite the key's name)\n",
		"  aud            sts.amazonaws.com             accounts.google.com:oaud (the audience you asked for: --audience)\n",
		"  exp            2026-11-29T02:00:00Z (in 1h0m0s)\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "compute_engine") {
		t.Error("shows a compute_engine block the token does not have")
	}
}

// TestTokenTextAligned: long values (a long audience, a long email, the
// compute_engine block's long key) keep every note in one column; a value
// too long for the column puts its note on the next line, in the column.
// TestStamp: a time in the past reads "ago" even when it rounds to 0s.
func TestStamp(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		-400 * time.Millisecond: "(0s ago)",
		0:                       "(0s ago)",
		-90 * time.Second:       "(1m30s ago)",
		400 * time.Millisecond:  "(in 0s)",
		time.Hour:               "(in 1h0m0s)",
	} {
		if got := stamp(now.Add(d), now); !strings.HasSuffix(got, want) {
			t.Errorf("stamp(now%+v) = %q, want it to end %q", d, got, want)
		}
	}
}

func TestTokenTextAligned(t *testing.T) {
	now := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	info := TokenInfo{MetadataHost: "169.254.169.254", ServiceAccount: "default",
		Header: token.Header{Alg: "RS256", Kid: "0123456789abcdef0123456789abcdef01234567", Typ: "JWT"},
		Claims: token.Claims{Issuer: "https://accounts.google.com", Audience: token.Audience{"https://analytics.example.com/aws"},
			AuthorizedParty: "104729387361234567890", Subject: "104729387361234567890",
			Email:    "analytics-pipeline-nightly@a-rather-long-project-name-4711.iam.gserviceaccount.com",
			IssuedAt: token.UnixTime(now.Unix()), Expiry: token.UnixTime(now.Add(time.Hour).Unix()),
			Google: &token.GoogleEx{ComputeEngine: &token.ComputeEngine{InstanceName: "web-1", ProjectID: "p",
				InstanceCreationTimestamp: token.UnixTime(now.Unix())}}}}
	text := string(info.Text(now))
	notes := []string{"IAM condition key / meaning", "Google key that signed it", "the trust policy's Principal",
		"accounts.google.com:oaud", "accounts.google.com:aud (", "accounts.google.com:sub", "no condition key", "the default --session-name"}
	col := -1
	for _, line := range strings.Split(text, "\n") {
		for _, n := range notes {
			i := strings.Index(line, n)
			if i < 0 {
				continue
			}
			if col < 0 {
				col = i
			}
			if i != col {
				t.Errorf("note %q at column %d, others at %d:\n%s", n, i, col, text)
			}
		}
	}
	// The email is longer than the column: its note is on the next line.
	want := "  email                       analytics-pipeline-nightly@a-rather-long-project-name-4711.iam.gserviceaccount.com\n" +
		strings.Repeat(" ", col) + "no condition key;"
	if !strings.Contains(text, want) {
		t.Errorf("text lacks %q:\n%s", want, text)
	}
	if !strings.Contains(text, "  instance_creation_timestamp 2026-11-29T01:00:00Z\n") {
		t.Errorf("the longest key is not in its column:\n%s", text)
	}
}

func TestMask(t *testing.T) {
	if got := mask("ASIA1234567890ABCDEF"); got != "ASIA************CDEF" {
		t.Errorf("mask = %q", got)
	}
}

// TestReportForms: the JSON form has the stable keys and the machine
// values; the text form the labels and the values for people, and leaves
// out the facts only machines need.
func TestReportForms(t *testing.T) {
	s := &Step{Name: "sts_endpoint", Status: "ok"}
	s.factAs("region", "region", "eu-west-1", "eu-west-1 (from AWS_REGION)")
	s.factAs("region_source", "", "AWS_REGION", "")
	s.factAs("proxy", "proxy", "", "none")
	s.fact("service_account_email", "")
	r := &Report{Steps: []*Step{s, {Name: "exchange", Status: "skipped"}}}

	var b strings.Builder
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	want := `{
  "ok": false,
  "steps": [
    {
      "name": "sts_endpoint",
      "status": "ok",
      "facts": {
        "region": "eu-west-1",
        "region_source": "AWS_REGION",
        "proxy": "",
        "service_account_email": ""
      }
    },
    {
      "name": "exchange",
      "status": "skipped",
      "facts": {}
    }
  ]
}
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}

	b.Reset()
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want = `[ok]     STS endpoint
         region: eu-west-1 (from AWS_REGION)
         proxy: none
[skipped] exchange

the chain does not work: see the step marked [fail]
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
}

// TestAddAgentNoneAnswers: with no agent at the socket, the agent step is
// skipped, says why, and leaves the report's outcome alone.
func TestAddAgentNoneAnswers(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "none.sock")
	t.Setenv("GCP_AWS_CRED_AGENT_SOCKET", socket)
	r := &Report{OK: true}
	r.AddAgent(context.Background(), nil)
	s := r.Steps[0]
	got := map[string]string{}
	for _, f := range s.Facts {
		got[f.Key] = f.Value
	}
	if s.Name != "agent" || s.Status != "skipped" || got["socket"] != socket || got["answered"] != "no" || got["pid"] != "" || got["why"] == "" {
		t.Errorf("step %+v", s)
	}
	if r.Err() != nil {
		t.Errorf("Err = %v, want nil", r.Err())
	}
}

// shortWriter takes one byte less than it is given, as a full pipe or
// disk would, or fails outright.
type shortWriter struct{ err error }

func (w shortWriter) Write(b []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	return len(b) - 1, nil
}

// TestToStdoutFailures: a failed or short write of a command's answer is a
// worded error with a hint, as the credential process's own write is, so
// that token, trust-policy and doctor never end in a bare "broken pipe".
func TestToStdoutFailures(t *testing.T) {
	for _, tc := range []struct {
		w    shortWriter
		want string
	}{
		{shortWriter{}, "cannot write the report to stdout: short write"},
		{shortWriter{syscall.EPIPE}, "cannot write the report to stdout: broken pipe"},
	} {
		err := toStdout(tc.w, []byte("report\n"), "report")
		var e *explain.Error
		if !errors.As(err, &e) || err.Error() != tc.want || len(e.Hints) == 0 || e.Hints[0] != "run it with stdout open" {
			t.Errorf("got %v (%#v), want %q with a hint", err, e, tc.want)
		}
	}
	if err := toStdout(&strings.Builder{}, []byte("report\n"), "report"); err != nil {
		t.Errorf("a whole write: %v", err)
	}
}
