// Command fetch is the floor for a credential fetch: the two requests
// gcp-aws-cred makes, and the document it prints, written with the
// standard library alone and nothing else: no retries, no bounds, no error
// translation, no flags beyond the role. bench/run.py times it next to
// gcp-aws-cred; their ratio is what everything gcp-aws-cred adds costs a
// user.
//
//	fetch ROLE_ARN
//
// It reads GCE_METADATA_HOST (default 169.254.169.254), AWS_ENDPOINT_URL_STS
// and AWS_REGION as gcp-aws-cred does.
package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fetch ROLE_ARN")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "fetch:", err)
		os.Exit(1)
	}
}

func run(role string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// 1. The ID token, in the full format, as gcp-aws-cred asks for it.
	host := cmp.Or(os.Getenv("GCE_METADATA_HOST"), "169.254.169.254")
	q := url.Values{"audience": {"sts.amazonaws.com"}, "format": {"full"}}
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+host+"/computeMetadata/v1/instance/service-accounts/default/identity?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Metadata-Flavor", "Google")
	tok, err := do(req)
	if err != nil {
		return fmt.Errorf("metadata server: %w", err)
	}
	tok = strings.TrimSpace(tok)

	// The session is named after the instance, as gcp-aws-cred's default.
	var claims struct {
		Google struct {
			ComputeEngine struct {
				InstanceName string `json:"instance_name"`
			} `json:"compute_engine"`
		} `json:"google"`
	}
	if parts := strings.Split(tok, "."); len(parts) == 3 {
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			_ = json.Unmarshal(b, &claims)
		}
	}
	session := cmp.Or(claims.Google.ComputeEngine.InstanceName, "floor")

	// 2. The exchange at STS: the Query protocol, unsigned.
	endpoint := os.Getenv("AWS_ENDPOINT_URL_STS")
	if endpoint == "" {
		endpoint = "https://sts." + cmp.Or(os.Getenv("AWS_REGION"), "us-east-1") + ".amazonaws.com"
	}
	form := url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
		"RoleArn": {role}, "RoleSessionName": {session}, "WebIdentityToken": {tok}, "DurationSeconds": {"3600"},
	}
	req, err = http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(endpoint, "/")+"/", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	body, err := do(req)
	if err != nil {
		return fmt.Errorf("STS: %w", err)
	}
	var resp struct {
		Result struct {
			Credentials struct {
				AccessKeyID     string `xml:"AccessKeyId"`
				SecretAccessKey string
				SessionToken    string
				Expiration      time.Time
			}
			AssumedRoleUser struct{ Arn string }
		} `xml:"AssumeRoleWithWebIdentityResult"`
	}
	if err := xml.Unmarshal([]byte(body), &resp); err != nil {
		return fmt.Errorf("STS: %w", err)
	}

	// 3. The credential_process document, in one write.
	c := resp.Result.Credentials
	account := ""
	if f := strings.Split(resp.Result.AssumedRoleUser.Arn, ":"); len(f) > 4 {
		account = f[4]
	}
	doc, err := json.Marshal(struct {
		Version         int
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
		AccountID       string `json:"AccountId,omitempty"`
	}{1, c.AccessKeyID, c.SecretAccessKey, c.SessionToken, c.Expiration.UTC().Format(time.RFC3339), account})
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(doc, '\n'))
	return err
}

// do sends req and returns the body of a 200 answer.
func do(req *http.Request) (string, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, b)
	}
	return string(b), nil
}
