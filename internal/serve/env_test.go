package serve

import (
	"slices"
	"testing"
)

func TestChildEnv(t *testing.T) {
	got := childEnv([]string{
		"PATH=/bin", "A=1", "AWS_PROFILE=prod", "A=2", "AWS_ACCESS_KEY_ID=AKIA", TokenEnv + "=old-token-000000000",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/run/t", "AWS_ROLE_ARN=arn", "AWS_WEB_IDENTITY_TOKEN_FILE=/run/w",
		// The alternate names the Go SDK's environment provider falls back
		// to: left in place, a Go child used these stale keys rather than
		// the server's.
		"AWS_ACCESS_KEY=AKIASTALE", "AWS_SECRET_KEY=stale",
	}, "http://127.0.0.1:1/credentials", "new-token-0000000000", "", "us-west-2")
	want := []string{"PATH=/bin", "A=2", URIEnv + "=http://127.0.0.1:1/credentials", TokenEnv + "=new-token-0000000000", "AWS_REGION=us-west-2", "AWS_DEFAULT_REGION=us-west-2"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// --region sets both, replacing a region in the environment, as serve
	// prints both (issue 23 item 14).
	got = childEnv([]string{"AWS_DEFAULT_REGION=eu-north-1"}, "u", "t", "", "us-west-2")
	if want := []string{URIEnv + "=u", TokenEnv + "=t", "AWS_REGION=us-west-2", "AWS_DEFAULT_REGION=us-west-2"}; !slices.Equal(got, want) {
		t.Errorf("a region in the environment: got %q", got)
	}
	// exec --serve --imds: the command gets the IMDS endpoint, and a
	// disabled IMDS or another endpoint from the parent goes.
	got = childEnv([]string{"AWS_EC2_METADATA_DISABLED=true", IMDSEndpointEnv + "=http://169.254.169.254/", "A=1"}, "u", "t", "http://127.0.0.1:1/", "")
	if want := []string{"A=1", URIEnv + "=u", TokenEnv + "=t", IMDSEndpointEnv + "=http://127.0.0.1:1/"}; !slices.Equal(got, want) {
		t.Errorf("with IMDS: got %q", got)
	}
}
