//go:build unix

package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// boto3ViaIMDS prints which provider boto3's default chain used and the
// caller's ARN; its environment has the IMDS endpoint and no other
// credentials.
const boto3ViaIMDS = `
import json, boto3
session = boto3.Session()
creds = session.get_credentials()
arn = session.client("sts").get_caller_identity()["Arn"]
print(json.dumps({"method": creds.method, "arn": arn}))
`

// TestServeIMDS starts `serve --imds` and gives the AWS CLI v1 and v2 and
// boto3 nothing but AWS_EC2_METADATA_SERVICE_ENDPOINT as serve printed it
// (and the region, which botocore never takes from IMDS): each gets the
// role's credentials through IMDSv2, with one exchange at STS for all.
// A GET without a session token gets 401.
func TestServeIMDS(t *testing.T) {
	w := setup(t)
	moto := w.motoURL()
	counter := countSTS(t, moto)
	serveEnv := setEnv(w.env, "AWS_ENDPOINT_URL_STS", counter.URL)
	vars, _, stderr := startServeN(t, 3, serveEnv, "--role", role, "--session-name", session, "--imds")
	endpoint := vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"]
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") || !strings.HasSuffix(endpoint, "/") {
		t.Fatalf("serve printed %v, want AWS_EC2_METADATA_SERVICE_ENDPOINT with a trailing slash", vars)
	}
	// The clients: the IMDS endpoint alone, no container variables, and
	// IMDS not disabled.
	var client []string
	for _, kv := range cleanEnv(w.home) {
		if !strings.HasPrefix(kv, "AWS_EC2_METADATA_DISABLED=") {
			client = append(client, kv)
		}
	}
	client = append(client,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT="+endpoint,
		"AWS_ENDPOINT_URL_STS="+counter.URL,
		"AWS_ENDPOINT_URL="+moto,
		"AWS_DEFAULT_REGION=us-east-1",
	)
	out, errOut, err := runIn(t, client, w.home, python(), "-c", boto3ViaIMDS)
	if err != nil {
		t.Fatalf("boto3: %v\nstdout: %s\nstderr: %s\nserve's log:\n%s", err, out, errOut, stderr)
	}
	var got struct{ Method, Arn string }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("boto3 printed %q: %v", out, err)
	}
	if got.Method != "iam-role" || got.Arn != wantARN {
		t.Errorf("boto3: provider %q, Arn %q; want iam-role (IMDS) and %q", got.Method, got.Arn, wantARN)
	}
	out, errOut, err = runIn(t, client, w.home, "aws", "sts", "get-caller-identity", "--output", "json")
	if err != nil {
		t.Fatalf("AWS CLI v1: %v\n%s", err, errOut)
	}
	if arn := callerARN(t, out); arn != wantARN {
		t.Errorf("AWS CLI v1: Arn %q, want %q", arn, wantARN)
	}
	// v2 before 2.13 ignores AWS_ENDPOINT_URL_STS: its own call takes
	// --endpoint-url.
	v2 := awsV2(t)
	out, errOut, err = runIn(t, client, w.home, v2, "--endpoint-url", counter.URL, "sts", "get-caller-identity", "--output", "json")
	if err != nil {
		t.Fatalf("AWS CLI v2: %v\n%s", err, errOut)
	}
	if arn := callerARN(t, out); arn != wantARN {
		t.Errorf("AWS CLI v2: Arn %q, want %q", arn, wantARN)
	}
	if n := counter.calls("AssumeRoleWithWebIdentity"); n != 1 {
		t.Errorf("%d AssumeRoleWithWebIdentity calls for three clients, want the 1 at start (STS saw %s)", n, counter)
	}

	// IMDSv2 only: no session token, no answer.
	resp, err := http.Get(endpoint + "latest/meta-data/iam/security-credentials/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET without a session token: %d, want 401", resp.StatusCode)
	}
	if strings.Contains(stderr.String(), "SecretAccessKey") {
		t.Errorf("serve's log:\n%s", stderr)
	}
	// serve writes the warning before its variables, but the log is copied
	// by a goroutine of its own: by now, after three clients, it is there.
	if !strings.Contains(stderr.String(), "warning: --imds: any local process that can reach") {
		t.Errorf("no warning about IMDS in serve's log:\n%s", stderr)
	}
}
