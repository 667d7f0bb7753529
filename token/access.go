package token

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/google/externalaccount"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// MaxGoogleAnswer is the most bytes read from one answer of a Google
// endpoint; tokens and errors are a few KB.
const MaxGoogleAnswer = 256 << 10

// NewGoogleClient returns the HTTP client for Google's token endpoints and
// the IAM Credentials API, named peer in errors.
func NewGoogleClient(peer string, trace *transport.Tracer) *http.Client {
	return transport.NewClient(transport.Policy{
		Peer:    peer,
		MaxBody: MaxGoogleAnswer,
		Proxy:   true,
		Secrets: true,
		Trace:   trace,
	})
}

// AccessToken gets an access token of scope cloud-platform for a: from the
// file's token endpoint through x/oauth2, which knows every ADC type, or
// from the metadata server. hc carries every request x/oauth2 makes; it
// must be bounded (see NewGoogleClient). Nothing is cached or written.
func (a *ADC) AccessToken(ctx context.Context, hc *http.Client) (secret.String, error) {
	if a.Type == MetadataAccount {
		return a.metadataToken(ctx)
	}
	// Only a credential source's own metadata addresses may be reached in
	// cleartext off this machine, never a token endpoint.
	ctx = transport.AllowLinkLocal(ctx, a.linkLocal...)
	// x/oauth2 takes its HTTP client from the context, and some of its
	// sources send requests without a context of their own: the client
	// gives them this one, so the deadline holds for them too.
	client, rec := transport.ForCall(ctx, hc)
	octx := context.WithValue(ctx, oauth2.HTTPClient, client)
	ts, err := a.tokenSource(octx, client)
	if err != nil {
		return secret.String{}, &ADCError{Stage: ADCUse, ADC: a, Err: err}
	}
	tok, err := ts.Token()
	if err != nil {
		return secret.String{}, a.failure(ctx, err, rec.Last())
	}
	secret.New(tok.RefreshToken)
	at := secret.New(tok.AccessToken)
	if n := len(at.Reveal()); n == 0 || n > maxAccessToken {
		return secret.String{}, &ADCError{Stage: ADCLength, ADC: a, Len: n}
	}
	return at, nil
}

// failure is an ADCToken error, with the endpoint's last failed request.
func (a *ADC) failure(ctx context.Context, err error, answer *transport.Answer) error {
	e := &ADCError{Stage: ADCToken, ADC: a, Answer: answer, Deadline: ctx.Err() != nil, Err: err}
	if answer != nil && answer.Err == nil {
		e.Code, e.Description, e.Subtype = oauth(answer.Body)
		e.AtSource = answer.URL == a.sourceTokenURL
	}
	return e
}

// tokenSource is x/oauth2's token source for a, with subjectSupplier for
// an external_account file's file, URL or program source.
func (a *ADC) tokenSource(ctx context.Context, hc *http.Client) (oauth2.TokenSource, error) {
	scopes := []string{CloudPlatformScope}
	if a.ext != nil && a.ext.supplied() {
		return externalaccount.NewTokenSource(ctx, a.ext.config(scopes, hc))
	}
	creds, err := google.CredentialsFromJSONWithTypeAndParams(ctx, a.json, google.CredentialsType(a.Type), google.CredentialsParams{Scopes: scopes})
	if err != nil {
		return nil, err
	}
	return creds.TokenSource, nil
}

// maxAccessToken bounds an access token; Google's are a few hundred
// characters, federated ones a few KB.
const maxAccessToken = 16 << 10

func (a *ADC) metadataToken(ctx context.Context) (secret.String, error) {
	body, err := a.md.GetWithContext(ctx, "instance/service-accounts/"+url.PathEscape(a.account)+"/token?"+url.Values{"scopes": {CloudPlatformScope}}.Encode())
	if err != nil {
		return secret.String{}, metadataError(err, a.account)
	}
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &t); err != nil || t.AccessToken == "" || len(t.AccessToken) > maxAccessToken {
		return secret.String{}, &AnswerError{Peer: "metadata server", At: MetadataHost(), Want: "access token", Missing: true, Err: err}
	}
	return secret.New(t.AccessToken), nil
}
