package token

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"cloud.google.com/go/compute/metadata"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// ErrThrottled is in the chain of an error from the IAM Credentials API
// that was still throttling (429) or unavailable (503) after the retries:
// a run should be tried again later, as when STS throttles.
var ErrThrottled = errors.New("the IAM Credentials API is throttling requests")

// DefaultIAMCredentialsEndpoint is the IAM Credentials API.
const DefaultIAMCredentialsEndpoint = "https://iamcredentials.googleapis.com"

// ValidEmail accepts the characters of a service account email, with one
// @ inside; the value goes into a URL path, so nothing else may pass.
func ValidEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 || s[0] == '.' || s[0] == '-' || len(s) > 254 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("@._+-", c) >= 0) {
			return false
		}
	}
	return true
}

// CheckIAMEndpoint checks an IAM Credentials endpoint URL before any request
// and returns it without a trailing slash. The caller's access token goes
// there, so it must be https, or http on loopback for an emulator.
func CheckIAMEndpoint(raw string) (string, error) {
	u, problem := transport.CheckEndpoint(raw)
	hint := "give the API's base URL, such as " + DefaultIAMCredentialsEndpoint + fail.HintIAMEndpointBase
	switch problem {
	case transport.EndpointNotHTTP:
		return "", fail.Errorf(nil, "IAM Credentials endpoint %q is not an http(s) URL", fail.Flatten(raw, 200)).Hint(hint)
	case transport.EndpointUserInfo:
		return "", fail.Errorf(nil, "IAM Credentials endpoint %s carries user information; refusing it", u.Scheme+"://"+u.Host).
			Hint("remove user:password@ from the URL: it would end up in logs")
	case transport.EndpointQuery:
		return "", fail.Errorf(nil, "IAM Credentials endpoint %s has a query or fragment", shownURL(raw)).Hint(hint)
	case transport.EndpointCleartext:
		return "", fail.Errorf(nil, "refusing cleartext IAM Credentials endpoint %s: the caller's access token would cross the network unencrypted", shownURL(raw)).
			Hint("use https://; http:// is accepted only for loopback addresses (127.0.0.1, ::1, localhost), for local emulators")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// IAMSource is a Source that impersonates a service account: it finds the
// caller's Application Default Credentials, gets their access token, and
// asks the IAM Credentials API's generateIdToken for an ID token of
// Target. It keeps nothing between calls and writes nothing.
type IAMSource struct {
	// Target is the service account whose token is minted.
	Target string
	// Delegates are the accounts in between, each acting as the next, as
	// gcloud's --impersonate-service-account chain.
	Delegates []string
	// Audience is the aud claim to request.
	Audience string
	// Endpoint is the IAM Credentials API's base URL, checked by
	// CheckIAMEndpoint; empty means DefaultIAMCredentialsEndpoint.
	Endpoint string
	// ServiceAccount is the attached account whose access token the
	// metadata server gives, when ADC come from there.
	ServiceAccount string
	// Metadata asks the metadata server; nil uses the default client.
	Metadata *metadata.Client
	// OAuth carries x/oauth2's requests to the token endpoints, IAM the
	// generateIdToken calls (see NewGoogleClient); nil makes untraced ones.
	OAuth, IAM *http.Client
	// MaxAttempts bounds the generateIdToken tries; 0 means 3.
	MaxAttempts int
	// BaseBackoff is the first retry's mean wait; 0 means 250ms.
	BaseBackoff time.Duration
	// Trace, when not nil, gets the retries.
	Trace *transport.Tracer
}

// FindADC finds the caller's credentials (see the package function).
func (s *IAMSource) FindADC(ctx context.Context) (*ADC, error) {
	return FindADC(ctx, s.Metadata, s.ServiceAccount)
}

// AccessToken gets the access token of a.
func (s *IAMSource) AccessToken(ctx context.Context, a *ADC) (secret.String, error) {
	c := s.OAuth
	if c == nil {
		c = NewGoogleClient("Google token endpoint", nil)
	}
	return a.AccessToken(ctx, c)
}

// Token finds the caller's credentials, gets their access token and trades
// it for an ID token of Target.
func (s *IAMSource) Token(ctx context.Context) (secret.String, error) {
	a, err := s.FindADC(ctx)
	if err != nil {
		return secret.String{}, err
	}
	s.Trace.Printf("credentials: %s from %s, caller %s", a.Type, orDefault(a.File, a.From), orDefault(a.Member, "not named in the file"))
	at, err := s.AccessToken(ctx, a)
	if err != nil {
		return secret.String{}, err
	}
	return s.IDToken(ctx, a, at)
}

// endpoint is the base URL in use.
func (s *IAMSource) endpoint() string {
	return orDefault(s.Endpoint, DefaultIAMCredentialsEndpoint)
}

// URL is the generateIdToken URL for Target.
func (s *IAMSource) URL() string {
	return s.endpoint() + "/v1/projects/-/serviceAccounts/" + url.PathEscape(s.Target) + ":generateIdToken"
}

// IDToken asks generateIdToken, as the caller whose access token at is,
// for an ID token of Target with the email claim. Throttling and server
// errors are tried again with jittered backoff, within MaxAttempts and the
// context's deadline.
func (s *IAMSource) IDToken(ctx context.Context, a *ADC, at secret.String) (secret.String, error) {
	var delegates []string
	for _, d := range s.Delegates {
		delegates = append(delegates, "projects/-/serviceAccounts/"+d)
	}
	body, err := json.Marshal(struct {
		Audience     string   `json:"audience"`
		IncludeEmail bool     `json:"includeEmail"`
		Delegates    []string `json:"delegates,omitempty"`
	}{s.Audience, true, delegates})
	if err != nil {
		return secret.String{}, err
	}
	client := s.IAM
	if client == nil {
		client = NewGoogleClient("IAM Credentials endpoint", nil)
	}
	attempts := cmp.Or(s.MaxAttempts, transport.Attempts)
	base := cmp.Or(s.BaseBackoff, transport.BaseBackoff)
	var status int
	var answer []byte
	tries := transport.Retry(ctx, attempts, base, transport.MaxBackoff, func() bool {
		status, answer, err = s.post(ctx, client, at, body)
		return retryable(status, err)
	}, func(wait time.Duration) {
		s.Trace.Printf("IAM Credentials endpoint: %s; trying again in %s", orDefault(http.StatusText(status), "no answer"), transport.Duration(wait))
	})
	if err != nil || status != http.StatusOK {
		return secret.String{}, s.explain(ctx, a, status, answer, err, tries)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(answer, &out); err != nil || out.Token == "" {
		return secret.String{}, fail.Errorf(err, "the IAM Credentials API at %s answered HTTP 200 without a token", s.endpoint()).
			Hint(fail.HintIAMEndpointAPI)
	}
	tok := secret.New(strings.TrimSpace(out.Token))
	if n := len(tok.Reveal()); n > sts.MaxTokenLen {
		return secret.String{}, fail.Errorf(nil, "the IAM Credentials API at %s answered a token of %d characters; STS accepts at most %d, so it was not sent", s.endpoint(), n, sts.MaxTokenLen).
			Hint(fail.HintIDTokenSize)
	}
	if _, err := Decode(tok); err != nil {
		return secret.String{}, fail.Errorf(err, "the IAM Credentials API at %s answered something that is not an ID token: %v", s.endpoint(), err).
			Hint(fail.HintIAMEndpointAPI)
	}
	return tok, nil
}

// post sends one generateIdToken request and reads the answer.
func (s *IAMSource) post(ctx context.Context, c *http.Client, at secret.String, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+at.Reveal())
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// retryable says whether a generateIdToken attempt is worth repeating:
// throttling, a server error, or a connection dropped on the way.
func retryable(status int, err error) bool {
	if err != nil {
		return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
	}
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Caller says who the caller is, for messages: the member when known, and
// where the credentials came from.
func (a *ADC) Caller() string {
	switch {
	case a.Type == MetadataAccount:
		return strings.TrimPrefix(a.Member, "serviceAccount:") + " (the metadata server's attached account)"
	case a.Member != "":
		return fmt.Sprintf("%s (%s in %s)", a.Member, a.Type, a.File)
	case a.Type == AuthorizedUser:
		return fmt.Sprintf("the user who signed in with gcloud (authorized_user in %s)", a.File)
	}
	return fmt.Sprintf("the caller (%s in %s)", a.Type, a.File)
}

// member is the --member of a binding for the caller, with a shell
// substitution or a placeholder where the credentials do not say.
func (a *ADC) member() string {
	switch {
	case a.Member != "":
		return ShellQuote(a.Member)
	case a.Type == AuthorizedUser:
		return "user:$(gcloud config get account)"
	}
	return "MEMBER"
}

// explain turns a failed generateIdToken into a message with the fix.
func (s *IAMSource) explain(ctx context.Context, a *ADC, status int, body []byte, err error, tries int) error {
	var tooLarge *transport.TooLargeError
	var cleartext *transport.CleartextError
	var notLoopback *transport.NotLoopbackError
	ep := s.endpoint()
	switch {
	case errors.Is(err, context.DeadlineExceeded) || err != nil && ctx.Err() == context.DeadlineExceeded:
		return fail.Errorf(err, "no answer from the IAM Credentials API at %s before the deadline", ep).
			AtDeadline()
	case errors.Is(err, context.Canceled):
		return fail.Errorf(err, "interrupted while waiting for the IAM Credentials API at %s", ep)
	case errors.As(err, &tooLarge):
		return fail.Errorf(err, "the IAM Credentials API at %s answered more than %s; an ID token is about 1 KB", ep, transport.Size(tooLarge.Limit)).
			Hint(fail.HintIAMEndpoint)
	case errors.As(err, &cleartext), errors.As(err, &notLoopback):
		return fail.Errorf(err, "refusing to send the access token to %s: %v", ep, errors.Unwrap(err)).
			Hint("use https://; http:// is accepted only on loopback, for emulators")
	case err != nil:
		return fail.Errorf(err, "cannot reach the IAM Credentials API at %s: %s", ep, fail.Flatten(fail.Cause(err), 200)).
			Hint(fail.HintIAMUnreachable)
	}
	code, msg, _ := oauth(body)
	said := fmt.Sprintf("HTTP %d %s", status, oauthText(code, msg, ""))
	target := s.Target
	answer := &IAMError{Endpoint: ep, Target: target, Delegates: s.Delegates, Status: status, Code: code, Message: msg, Tries: tries}
	switch {
	case status == http.StatusForbidden:
		if len(s.Delegates) > 0 {
			return fail.Errorf(answer, "%s, or a delegate after it, lacks the permission to act as the next account in the chain to %s (%s)", a.Caller(), target, said).
				Hint(s.bindingHints(a)...)
		}
		return fail.Errorf(answer, "%s lacks iam.serviceAccounts.getOpenIdToken on %s (%s)", a.Caller(), target, said).
			Hint(s.bindingHints(a)...)
	case status == http.StatusNotFound:
		return fail.Errorf(answer, "the IAM Credentials API at %s does not know service account %s (%s)", ep, target, said).
			Hint(fail.HintImpersonateEmail,
				"list the project's accounts: gcloud iam service-accounts list --project="+projectOf(target))
	case status == http.StatusUnauthorized:
		return fail.Errorf(answer, "the IAM Credentials API at %s did not accept the access token of %s (%s)", ep, a.Caller(), said).
			Hint(a.relogin()...)
	case status == http.StatusTooManyRequests || status >= 500:
		times := fmt.Sprintf("%d times", tries)
		if tries == 1 {
			times = "and the deadline left no time to try again"
		}
		// 429 and 503 are ErrThrottled (IAMError.Unwrap), as STS's
		// throttling, so the run exits 75 (EX_TEMPFAIL).
		return fail.Errorf(answer, "the IAM Credentials API at %s answered %s, %s", ep, said, times).
			Hint("a transient fault at Google: try again in a minute")
	case status == http.StatusBadRequest:
		return fail.Errorf(answer, "the IAM Credentials API at %s refused the request for %s (%s)", ep, target, said).
			Hint(fail.HintIAMBadRequest)
	}
	return fail.Errorf(answer, "the IAM Credentials API at %s answered %s for %s", ep, said, target).
		Hint(fail.HintIAMEndpoint)
}

// bindingHints say which role each link of the chain needs on the next,
// with the gcloud line that grants it.
func (s *IAMSource) bindingHints(a *ADC) []string {
	bind := func(on, member, role string) string {
		return fmt.Sprintf("gcloud iam service-accounts add-iam-policy-binding %s --member=%s --role=%s", ShellQuote(on), member, role)
	}
	const openID, creator = "roles/iam.serviceAccountOpenIdTokenCreator", "roles/iam.serviceAccountTokenCreator"
	if len(s.Delegates) == 0 {
		return []string{
			"the caller needs iam.serviceAccounts.getOpenIdToken on " + s.Target + ", which roles/iam.serviceAccountOpenIdTokenCreator grants (roles/iam.serviceAccountTokenCreator has it too); grant it with:",
			bind(s.Target, a.member(), openID),
			"Google answers the same when " + s.Target + " does not exist: check the email",
		}
	}
	hints := []string{"with delegates, each account in the chain needs roles/iam.serviceAccountTokenCreator on the next, and the last delegate roles/iam.serviceAccountOpenIdTokenCreator on " + s.Target + "; grant them with:"}
	member := a.member()
	for _, d := range s.Delegates {
		hints = append(hints, bind(d, member, creator))
		member = ShellQuote("serviceAccount:" + d)
	}
	hints = append(hints, bind(s.Target, member, openID),
		"Google answers the same when an account in the chain does not exist: check the emails")
	return hints
}

// ShellQuote makes s one word for POSIX shells (sh, bash, zsh) when a
// gcloud line of a hint is pasted: a value from an ADC file may hold
// $(…), which would run, or a *, which zsh refuses as a glob that matches
// nothing. Values of only safe characters are left as they are.
func ShellQuote(s string) string {
	safe := s != ""
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("@%+=:,./_-", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// projectOf is the project of a user-managed service account's email.
func projectOf(email string) string {
	_, domain, _ := strings.Cut(email, "@")
	if p, ok := strings.CutSuffix(domain, ".iam.gserviceaccount.com"); ok {
		return p
	}
	return "PROJECT"
}
