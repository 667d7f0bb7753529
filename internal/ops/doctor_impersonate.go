package ops

import (
	"cmp"
	"context"
	"strings"

	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

// impersonationSteps are doctor's steps before the ID token when
// --impersonate is given, in place of the metadata server's: which
// Application Default Credentials were found, and whether they give an
// access token. It reports whether both worked.
func impersonationSteps(ctx context.Context, r *Report, src *token.IAMSource) bool {
	s := r.step("credentials")
	s.fact("impersonate", strings.Join(append(append([]string(nil), src.Delegates...), src.Target), ","))
	a, err := src.FindADC(ctx)
	if err != nil {
		s.fail(err)
		return false
	}
	s.fact("type", a.Type)
	s.factAs("source", "found", a.From, a.From)
	s.fact("file", a.File)
	s.factAs("caller", "caller", a.Member, cmp.Or(a.Member, "(not named in the credentials; a user login names no email)"))

	s = r.step("access_token")
	s.factAs("token_url", "from", a.TokenURL, a.TokenURL)
	if _, err := src.AccessToken(ctx, a); err != nil {
		s.fail(err)
		return false
	}
	s.factAs("scope", "scope", token.CloudPlatformScope, "")
	return true
}
