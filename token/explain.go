package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"

	"golang.org/x/oauth2/google"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/regfile"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// This file turns what went wrong on the way to an access token into
// messages: which endpoint refused what, and the fix for the usual causes.

// explain turns a failure to get an access token into a message that says
// which endpoint refused what, and the fix for the usual causes. answer is
// the endpoint's last error answer, if there was one.
func (a *ADC) explain(ctx context.Context, err error, answer *transport.Answer) error {
	var tooLarge *transport.TooLargeError
	var source *SourceError
	where := shownURL(a.TokenURL)
	switch {
	case errors.As(err, &source):
		// Never x/oauth2's text here: it would quote what the source gave.
		e := fail.Errorf(source, "cannot get a subject token for the Application Default Credentials in %s: %v", a.File, source).
			Hint("check credential_source in " + a.File + ": the " + source.Kind + " it names must give a fresh token")
		if errors.Is(source, context.DeadlineExceeded) {
			e.AtDeadline()
		}
		return e
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return fail.Errorf(err, "no access token from %s before the deadline", where).
			AtDeadline()
	case answer != nil && answer.Err != nil:
		return a.unreachable(ctx, answer)
	case errors.As(err, &tooLarge):
		return fail.Errorf(err, "the token endpoint %s answered more than %s", where, transport.Size(tooLarge.Limit)).
			Hint("check token_uri or token_url in " + a.File)
	case answer == nil:
		return fail.Errorf(err, "cannot get an access token for the Application Default Credentials in %s (%s): %s", a.File, a.Type, fail.Flatten(fail.Cause(err), 300)).
			Hint(a.relogin()...)
	}
	code, desc, subtype := oauth(answer.Body)
	where = shownURL(answer.URL)
	refused := &TokenEndpointError{File: a.File, Type: a.Type, URL: where, Status: answer.Status, Code: code, Description: desc, Subtype: subtype, Err: err}
	e := fail.Errorf(refused, "%v", refused)
	switch {
	case code == "invalid_grant" && subtype == "invalid_rapt":
		e.Msg = fmt.Sprintf("your Google login in %s needs re-authentication (invalid_rapt at %s)", a.File, where)
		return e.Hint("sign in again: gcloud auth application-default login")
	case code == "invalid_grant" && (a.Type == AuthorizedUser || a.Type == ExternalAccountAuthorizedUser || a.Type == ImpersonatedServiceAccount && answer.URL == shownURL(a.sourceTokenURL())):
		e.Msg = fmt.Sprintf("your Google login in %s has expired or was revoked (invalid_grant at %s: %s)", a.File, where, orDefault(desc, "no description"))
		return e.Hint("sign in again: gcloud auth application-default login")
	case code == "invalid_grant" && a.Type == ServiceAccountKey:
		return e.Hint("the key in "+a.File+" may have been deleted or disabled: gcloud iam service-accounts keys list --iam-account="+ShellQuote(strings.TrimPrefix(a.Member, "serviceAccount:")),
			"or this machine's clock is off (the assertion is valid for one hour from now): check time sync")
	case a.Type == ExternalAccount && (code == "invalid_grant" || code == "invalid_target" || code == "invalid_request"):
		return e.Hint("Google's STS did not accept the subject token for the workload identity provider in the file's audience: check the provider's issuer, allowed audiences and attribute condition, and that the credential source in " + a.File + " holds a fresh token")
	case answer.Status == 401 && strings.HasSuffix(answer.URL, ":generateAccessToken"):
		// The source credentials' access token was refused, not the
		// login: signing in again gives another token of the same kind.
		return e.Hint("the IAM Credentials API did not accept the access token of the source credentials in "+a.File+": check that service_account_impersonation_url names the IAM Credentials API (https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken)",
			"and that the source credentials were granted the cloud-platform scope (gcloud auth application-default login grants it)")
	case answer.Status == 403 && a.Type == ImpersonatedServiceAccount:
		return e.Hint("the source credentials need roles/iam.serviceAccountTokenCreator on " + strings.TrimPrefix(a.Member, "serviceAccount:"))
	}
	return e.Hint(a.relogin()...)
}

// unreachable explains a request to a token endpoint that got no answer.
func (a *ADC) unreachable(ctx context.Context, answer *transport.Answer) error {
	err := answer.Err
	where := shownURL(answer.URL)
	var tooLarge *transport.TooLargeError
	var notLoopback *transport.NotLoopbackError
	var cleartext *transport.CleartextError
	switch {
	case errors.As(err, &cleartext):
		return fail.Errorf(err, "refusing to send the credentials of %s to %s: %v", a.File, where, cleartext).
			Hint("token_uri, token_url and service_account_impersonation_url must be https:// URLs; http:// is accepted only on loopback, for emulators")
	case errors.As(err, &notLoopback):
		return fail.Errorf(err, "refusing to send the credentials of %s to %s: %v", a.File, where, notLoopback).
			Hint("token_uri and token_url must be https:// URLs; http:// is accepted only on loopback, for emulators")
	case errors.As(err, &tooLarge):
		return fail.Errorf(err, "the token endpoint %s answered more than %s", where, transport.Size(tooLarge.Limit)).
			Hint("check token_uri or token_url in " + a.File)
	case errors.Is(err, context.DeadlineExceeded):
		return fail.Errorf(err, "no answer from the token endpoint %s before the deadline", where).
			AtDeadline()
	}
	return fail.Errorf(err, "cannot reach the token endpoint %s for the Application Default Credentials in %s: %s", where, a.File, fail.Flatten(fail.Cause(err), 200)).
		Hint("check the network and any proxy (HTTPS_PROXY, NO_PROXY), and token_uri or token_url in " + a.File)
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
	return orDefault(f.Source.TokenURI, google.Endpoint.TokenURL)
}

// relogin is the usual fix for credentials a token endpoint refuses.
func (a *ADC) relogin() []string {
	switch a.Type {
	case AuthorizedUser, ExternalAccountAuthorizedUser, ImpersonatedServiceAccount:
		return []string{"sign in again: gcloud auth application-default login"}
	case ServiceAccountKey:
		return []string{"check that the key in " + a.File + " is still valid: gcloud iam service-accounts keys list --iam-account=" + ShellQuote(strings.TrimPrefix(a.Member, "serviceAccount:"))}
	case ExternalAccount:
		return []string{"check the Workload Identity Federation configuration in " + a.File + " and that its credential source holds a fresh token"}
	}
	return nil
}

func oauthText(code, desc, subtype string) string {
	s := orDefault(code, "(no error code)")
	if subtype != "" {
		s += "/" + subtype
	}
	if desc != "" {
		s += ": " + desc
	}
	return s
}

// shownURL is u for a message: scheme, host and path, nothing else.
func shownURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return fail.Flatten(u, 120)
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
		return fail.Flatten(s, 60), fail.Flatten(o.ErrorDescription, 200), fail.Flatten(o.ErrorSubtype, 60)
	}
	var api struct {
		Message string `json:"message"`
		Status  string `json:"status"`
	}
	_ = json.Unmarshal(o.Error, &api)
	return fail.Flatten(api.Status, 60), fail.Flatten(api.Message, 200), ""
}

// fileErr says what went wrong with a file, without the path that the
// message already names.
func fileErr(err error) string {
	var big *regfile.TooLargeError
	var irregular *regfile.NotRegularError
	var pe *fs.PathError
	switch {
	case errors.As(err, &big):
		return "larger than " + transport.Size(big.Max)
	case errors.As(err, &irregular):
		return "not a regular file (it is " + irregular.Kind + ")"
	case errors.Is(err, context.DeadlineExceeded):
		return "the read did not finish before the deadline"
	case errors.As(err, &pe):
		return pe.Err.Error()
	}
	return err.Error()
}
