package token

import (
	"cmp"
	"context"
	"encoding/json"
	"net/url"

	"golang.org/x/oauth2/google"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// failure carries a failure to get an access token as data, for
// internal/explain to word. answer is the endpoint's last answer, if there
// was one.
func (a *ADC) failure(ctx context.Context, err error, answer *transport.Answer) error {
	e := &ADCError{Stage: ADCToken, File: a.File, From: a.From, ADC: a, URL: shownURL(a.TokenURL), Answer: answer, Deadline: ctx.Err() != nil, Err: err}
	if answer != nil {
		e.AnswerURL = shownURL(answer.URL)
	}
	if answer != nil && answer.Err == nil {
		code, desc, subtype := oauth(answer.Body)
		e.Refused = &TokenEndpointError{File: a.File, Type: a.Type, URL: shownURL(answer.URL), Status: answer.Status, Code: code, Description: desc, Subtype: subtype, Err: err}
		e.SourceTokenURL = shownURL(a.sourceTokenURL())
	}
	return e
}

// sourceTokenURL is the token endpoint of an impersonated_service_account
// file's source credentials, where a user's login is refreshed.
func (a *ADC) sourceTokenURL() string {
	var f struct {
		Source struct {
			TokenURI string `json:"token_uri"`
		} `json:"source_credentials"`
	}
	_ = json.Unmarshal(a.json, &f)
	return cmp.Or(f.Source.TokenURI, google.Endpoint.TokenURL)
}

// shownURL is u for a message: scheme, host and path, nothing else.
func shownURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return clean.Flatten(u, 120)
	}
	return p.Scheme + "://" + p.Host + p.Path
}

// oauth reads RFC 6749's error, error_description and Google's
// error_subtype, or a Google API error's status and message.
func oauth(body []byte) (code, desc, subtype string) {
	var o struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
		ErrorSubtype     string          `json:"error_subtype"`
	}
	if json.Unmarshal(body, &o) != nil {
		return "", excerpt(string(body)), ""
	}
	var s string
	if json.Unmarshal(o.Error, &s) == nil {
		return clean.Flatten(s, 60), clean.Flatten(o.ErrorDescription, 200), clean.Flatten(o.ErrorSubtype, 60)
	}
	var api struct {
		Message string `json:"message"`
		Status  string `json:"status"`
	}
	_ = json.Unmarshal(o.Error, &api)
	return clean.Flatten(api.Status, 60), clean.Flatten(api.Message, 200), ""
}
