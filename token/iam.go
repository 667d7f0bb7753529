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

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// ErrThrottled is in the chain of an error from the IAM Credentials API
// that was still throttling (429) or unavailable (503) after the retries.
var ErrThrottled = errors.New("the IAM Credentials API is throttling requests")

// DefaultIAMCredentialsEndpoint is the IAM Credentials API.
const DefaultIAMCredentialsEndpoint = "https://iamcredentials.googleapis.com"

// ValidEmail accepts the characters of a service account email, with one
// @ inside; the value goes into a URL path, so nothing else may pass.
func ValidEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Count(s, "@") == 1 && s[0] != '.' && s[0] != '-' && len(s) <= 254 &&
		!strings.ContainsFunc(s, func(r rune) bool { return !alnum(r) && !strings.ContainsRune("@._+-", r) })
}

func alnum(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
}

// CheckIAMEndpoint checks an IAM Credentials endpoint URL before any request
// and returns it without a trailing slash. The caller's access token goes
// there, so it must be https, or http on loopback for an emulator.
func CheckIAMEndpoint(raw string) (string, error) {
	u, problem := transport.CheckEndpoint(raw)
	switch problem {
	case transport.EndpointOK:
	case transport.EndpointNotHTTP:
		return "", &IAMError{Endpoint: clean.Flatten(raw, 200), Problem: problem}
	case transport.EndpointUserInfo:
		return "", &IAMError{Endpoint: u.Scheme + "://" + u.Host, Problem: problem}
	default:
		return "", &IAMError{Endpoint: shownURL(raw), Problem: problem}
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// IAMSource is a Source that impersonates a service account: it trades the
// access token of the caller's Application Default Credentials for an ID
// token of Target at generateIdToken. It keeps nothing between calls.
type IAMSource struct {
	// Target is the service account whose token is minted, Delegates the
	// accounts in between, each acting as the next.
	Target    string
	Delegates []string
	Audience  string
	// Endpoint is the IAM Credentials API's base URL, checked by
	// CheckIAMEndpoint; empty means DefaultIAMCredentialsEndpoint.
	Endpoint string
	// ServiceAccount is the attached account whose access token the
	// metadata server gives, when ADC come from there.
	ServiceAccount string
	Metadata       *metadata.Client // nil uses the default client
	// OAuth carries x/oauth2's requests to the token endpoints, IAM the
	// generateIdToken calls (see NewGoogleClient); nil makes untraced ones.
	OAuth, IAM  *http.Client
	BaseBackoff time.Duration // the first retry's mean wait; 0 means 250ms
	Trace       *transport.Tracer
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
	s.Trace.Printf("credentials: %s from %s, caller %s", a.Type, cmp.Or(a.File, a.From), cmp.Or(a.Member, "not named in the file"))
	at, err := s.AccessToken(ctx, a)
	if err != nil {
		return secret.String{}, err
	}
	return s.IDToken(ctx, a, at)
}

func (s *IAMSource) endpoint() string {
	return cmp.Or(s.Endpoint, DefaultIAMCredentialsEndpoint)
}

// URL is the generateIdToken URL for Target.
func (s *IAMSource) URL() string {
	return s.endpoint() + "/v1/projects/-/serviceAccounts/" + url.PathEscape(s.Target) + ":generateIdToken"
}

// IDToken asks generateIdToken, as the caller whose access token at is,
// for an ID token of Target with the email claim, retrying throttling and
// server errors.
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
	var status int
	var answer []byte
	tries := transport.Retry(ctx, transport.Attempts, cmp.Or(s.BaseBackoff, transport.BaseBackoff), transport.MaxBackoff, func() bool {
		status, answer, err = s.post(ctx, client, at, body)
		return retryable(status, err)
	}, func(wait time.Duration) {
		s.Trace.Printf("IAM Credentials endpoint: %s; trying again in %s", cmp.Or(http.StatusText(status), "no answer"), transport.Duration(wait))
	})
	if err != nil || status != http.StatusOK {
		e := &IAMError{Endpoint: s.endpoint(), Target: s.Target, Delegates: s.Delegates, Tries: tries, Caller: a, Err: err}
		switch {
		case err == nil:
			e.Status = status
			e.Code, e.Message, _ = oauth(answer)
		case !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == context.DeadlineExceeded:
			// The deadline cut the request short, whatever the
			// transport made of it.
			e.Err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
		return secret.String{}, e
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(answer, &out); err != nil || out.Token == "" {
		return secret.String{}, &AnswerError{Peer: "IAM Credentials API", At: s.endpoint(), Want: "ID token", Missing: true, Err: err}
	}
	return idToken(out.Token, "IAM Credentials API", s.endpoint())
}

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
