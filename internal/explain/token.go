package explain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

const (
	hintIAMEndpoint    = "check --iam-credentials-endpoint (or GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT)"
	hintIAMEndpointAPI = hintIAMEndpoint + ": it must name the IAM Credentials API"
	hintMetadataHost   = "check that GCE_METADATA_HOST (if set) names a Google metadata server"
	hintCleartext      = "use https://; http:// is accepted only for loopback addresses (127.0.0.1, ::1, localhost), for local emulators"
	// The fixes for an ADC file that cannot be used as it is, and for a
	// user's login that a token endpoint refused.
	rewrite = "write it again: gcloud auth application-default login, or download the key or configuration file anew"
	signIn  = "sign in again: gcloud auth application-default login"
)

// badHost words a GCE_METADATA_HOST that is not host[:port].
func badHost(e *token.HostError) *Error {
	x := Errorf(e, "GCE_METADATA_HOST=%q is not host:port: %s", e.Value, e.Why)
	if e.Fix != "" {
		x.Hint("set GCE_METADATA_HOST=" + e.Fix)
	}
	return x.Hint("GCE_METADATA_HOST takes the metadata server's host and optional port, without a scheme or path: 169.254.169.254, metadata.google.internal, 127.0.0.1:8080 for an emulator; on Google Cloud, leave it unset")
}

// adcFailure words a failure to find, read or use Application Default
// Credentials.
func adcFailure(e *token.ADCError) *Error {
	a, err := e.ADC, e.Err
	switch e.Stage {
	case token.ADCNone:
		md := err.(*token.MetadataError)
		return Errorf(e, "no Application Default Credentials: %s is not set, %s does not exist, and the metadata server at %s did not answer (%s)", token.FromEnv, a.File, md.Host, clean.Flatten(metadataFailure(md).Error(), 200)).
			Hint("on a laptop: gcloud auth application-default login",
				"in CI: set "+token.FromEnv+" to a service account key or Workload Identity Federation configuration file (gcloud iam workload-identity-pools create-cred-config)",
				"on Google Cloud: the metadata server gives the attached service account's credentials; set GCE_METADATA_HOST=host:port to reach another one")
	case token.ADCRead:
		x := Errorf(e, "cannot read the Application Default Credentials file %s (from %s): %s", a.File, a.From, FileProblem(err))
		if a.From == token.FromEnv {
			x.Hint(token.FromEnv + " must name a readable JSON file: a service account key, a Workload Identity Federation configuration, or the file `gcloud auth application-default login` writes")
		}
		return x
	case token.ADCJSON:
		return Errorf(e, "the Application Default Credentials file %s (from %s) is not JSON", a.File, a.From).Hint(rewrite)
	case token.ADCType:
		return Errorf(e, "the Application Default Credentials file %s (from %s) is of type %q, which --impersonate does not take", a.File, a.From, a.Type).
			Hint("--impersonate takes ADC files of type authorized_user (gcloud auth application-default login), service_account (a key), external_account (Workload Identity Federation) and impersonated_service_account")
	case token.ADCUse:
		return Errorf(e, "the Application Default Credentials file %s (%s) cannot be used: %s", a.File, a.Type, clean.Flatten(err.Error(), 300)).Hint(rewrite)
	case token.ADCLength:
		return Errorf(e, "the token endpoint %s answered an access token of %d characters", a.TokenURL, e.Len).
			Hint("Google's access tokens are a few hundred characters; check token_uri or token_url in " + a.File)
	}
	if source, ok := errors.AsType[*token.SourceError](err); ok {
		// Never x/oauth2's text here: it would quote what the source gave.
		why := source.Why
		if why == "" {
			why = FileProblem(source.Err)
			if source.OutputFile {
				why = "its output_file " + why
			}
		}
		x := Errorf(e, "cannot get a subject token for the Application Default Credentials in %s: the credential source %s %s: %s", a.File, source.Kind, source.Where, why).
			Hint("check credential_source in " + a.File + ": the " + source.Kind + " it names must give a fresh token")
		if errors.Is(source, context.DeadlineExceeded) {
			x.AtDeadline()
		}
		return x
	}
	answer := e.Answer
	tooLarge, isTooLarge := errors.AsType[*transport.TooLargeError](err)
	switch {
	case e.Deadline || errors.Is(err, context.DeadlineExceeded):
		return Errorf(e, "no access token from %s before the deadline", a.TokenURL).
			AtDeadline()
	case answer != nil && answer.Err != nil:
		return unreachable(e)
	case isTooLarge:
		return Errorf(e, "the token endpoint %s answered more than %s", a.TokenURL, transport.Size(tooLarge.Limit)).
			Hint("check token_uri or token_url in " + a.File)
	case answer == nil:
		return Errorf(e, "cannot get an access token for the Application Default Credentials in %s (%s): %s", a.File, a.Type, clean.Flatten(Cause(err), 300)).
			Hint(relogin(a)...)
	}
	return refused(e)
}

// refused words a token endpoint's error answer to the credentials, with
// the fix for the usual causes.
func refused(e *token.ADCError) *Error {
	a, where, code, desc, subtype := e.ADC, e.Answer.URL, e.Code, e.Description, e.Subtype
	x := Errorf(e, "the token endpoint %s refused the Application Default Credentials in %s (%s): HTTP %d %s", where, a.File, a.Type, e.Answer.Status, oauthText(code, desc, subtype))
	switch {
	case code == "invalid_grant" && subtype == "invalid_rapt":
		return Errorf(e, "your Google login in %s needs re-authentication (invalid_rapt at %s)", a.File, where).Hint(signIn)
	case code == "invalid_grant" && (a.Type == token.AuthorizedUser || a.Type == token.ExternalAccountAuthorizedUser || e.AtSource):
		return Errorf(e, "your Google login in %s has expired or was revoked (invalid_grant at %s: %s)", a.File, where, cmp.Or(desc, "no description")).Hint(signIn)
	case code == "invalid_grant" && a.Type == token.ServiceAccountKey:
		return x.Hint("the key in "+a.File+" may have been deleted or disabled: gcloud iam service-accounts keys list --iam-account="+shellQuote(strings.TrimPrefix(a.Member, "serviceAccount:")),
			"or this machine's clock is off (the assertion is valid for one hour from now): check time sync")
	case a.Type == token.ExternalAccount && (code == "invalid_grant" || code == "invalid_target" || code == "invalid_request"):
		return x.Hint("Google's STS did not accept the subject token for the workload identity provider in the file's audience: check the provider's issuer, allowed audiences and attribute condition, and that the credential source in " + a.File + " holds a fresh token")
	case e.Answer.Status == http.StatusUnauthorized && strings.HasSuffix(where, ":generateAccessToken"):
		// The source credentials' access token was refused, not the
		// login: signing in again gives another token of the same kind.
		return x.Hint("the IAM Credentials API did not accept the access token of the source credentials in "+a.File+": check that service_account_impersonation_url names the IAM Credentials API (https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken)",
			"and that the source credentials were granted the cloud-platform scope (gcloud auth application-default login grants it)")
	case e.Answer.Status == http.StatusForbidden && a.Type == token.ImpersonatedServiceAccount:
		return x.Hint("the source credentials need roles/iam.serviceAccountTokenCreator on " + strings.TrimPrefix(a.Member, "serviceAccount:"))
	}
	return x.Hint(relogin(a)...)
}

// unreachable words a request to a token endpoint that got no answer.
func unreachable(e *token.ADCError) *Error {
	err, a, where := e.Answer.Err, e.ADC, e.Answer.URL
	var tooLarge *transport.TooLargeError
	var notLoopback *transport.NotLoopbackError
	var cleartext *transport.CleartextError
	switch {
	case errors.As(err, &cleartext):
		return Errorf(e, "refusing to send the credentials of %s to %s: %v", a.File, where, cleartext).
			Hint("token_uri, token_url and service_account_impersonation_url must be https:// URLs; http:// is accepted only on loopback, for emulators")
	case errors.As(err, &notLoopback):
		return Errorf(e, "refusing to send the credentials of %s to %s: %v", a.File, where, notLoopback).
			Hint("token_uri and token_url must be https:// URLs; http:// is accepted only on loopback, for emulators")
	case errors.As(err, &tooLarge):
		return Errorf(e, "the token endpoint %s answered more than %s", where, transport.Size(tooLarge.Limit)).
			Hint("check token_uri or token_url in " + a.File)
	case errors.Is(err, context.DeadlineExceeded):
		return interrupted(e, "the token endpoint "+where)
	}
	return Errorf(e, "cannot reach the token endpoint %s for the Application Default Credentials in %s: %s", where, a.File, clean.Flatten(Cause(err), 200)).
		Hint("check the network and any proxy (HTTPS_PROXY, NO_PROXY), and token_uri or token_url in " + a.File)
}

// metadataFailure words a request to the metadata server that failed: which
// host was asked, which limit was hit if one was, and what to do about it.
func metadataFailure(e *token.MetadataError) *Error {
	err, host, status := e.Err, e.Host, e.Status
	var tooLarge *transport.TooLargeError
	var perRequest *transport.TimeoutError
	var refused *transport.RefusedError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return interrupted(e, "the metadata server at "+host, notOnGoogleCloud...)
	case errors.As(err, &perRequest):
		return Errorf(e, "the metadata server at %s did not answer within %s, the limit for one request", host, perRequest.Limit).
			Hint("a metadata server answers in milliseconds; one that accepts the connection and then says nothing is not a working metadata server (a proxy, a sidecar, or GCE_METADATA_HOST naming something else)").
			Hint(fmt.Sprintf("each request to the metadata server may take %s and is not tried again; --timeout bounds the whole run", perRequest.Limit))
	case errors.As(err, &tooLarge):
		return Errorf(e, "the metadata server at %s answered more than %s; an ID token is about 1 KB", host, transport.Size(tooLarge.Limit)).
			Hint("something other than a metadata server answered: check GCE_METADATA_HOST (if set), and any proxy or sidecar in front of 169.254.169.254")
	case errors.As(err, &refused):
		return Errorf(e, "cannot reach the metadata server at %s: connection refused", host).
			Hint(fmt.Sprintf("it refused connections for %s (%d tries); on GKE the metadata server may take a few seconds to start in a new pod", refused.For, refused.Tries)).
			Hint(notOnGoogleCloud...)
	case status == 0:
		return Errorf(e, "cannot reach the metadata server at %s: %s", host, clean.Flatten(Cause(err), 200)).
			Hint(notOnGoogleCloud...)
	case status == http.StatusNotFound:
		return Errorf(e, "the metadata server at %s does not know service account %q (HTTP 404)", host, e.Account).
			Hint("--service-account takes \"default\" or the email of a service account attached to this VM, or bound to this pod's Kubernetes service account with Workload Identity",
				"list the accounts the metadata server knows: curl -H 'Metadata-Flavor: Google' 'http://"+host+"/computeMetadata/v1/instance/service-accounts/'")
	case status < 500 && strings.HasPrefix(e.Body, "<"):
		// A metadata server answers errors in plain text; an XML or HTML
		// page is some other server (an AWS endpoint, a web server).
		return Errorf(e, "the server at %s answered HTTP %d with an XML or HTML page: it is not a metadata server", host, status).
			Hint("GCE_METADATA_HOST must name a metadata server as host:port, without a scheme: 169.254.169.254, or 127.0.0.1:8080 for an emulator; on Google Cloud, leave it unset")
	}
	x := Errorf(e, "the metadata server at %s answered HTTP %d: %s", host, status, e.Body)
	switch {
	case status == http.StatusForbidden:
		x.Hint("the server refused a request that carried Metadata-Flavor: Google; a proxy or sidecar between this process and the metadata server may be blocking identity tokens")
	case status >= 500:
		x.Hint("the metadata server failed even after retries; try again, and on GKE check the gke-metadata-server pods in kube-system")
	}
	return x
}

var notOnGoogleCloud = []string{
	clean.Name + " gets its identity from the metadata server of a Compute Engine VM, GKE pod (Workload Identity), Cloud Run service or Cloud Function; is this running on Google Cloud?",
	"to use another metadata server (an emulator, a test fake), set GCE_METADATA_HOST=host:port",
}

// badAnswer words an answer of HTTP 200 that is not a token STS would
// take.
func badAnswer(e *token.AnswerError) *Error {
	metadataServer := e.Peer == "metadata server"
	switch {
	case e.Len > 0:
		x := Errorf(e, "the %s at %s answered a token of %d characters; STS accepts at most %d, so it was not sent", e.Peer, e.At, e.Len, sts.MaxTokenLen)
		if metadataServer {
			return x.Hint("a Google ID token is about 1 KB: check that GCE_METADATA_HOST (if set) names a Google metadata server, host:port without a scheme")
		}
		return x.Hint("a Google ID token is about 1 KB: check --iam-credentials-endpoint")
	case metadataServer && e.Want == "access token":
		return Errorf(e, "the metadata server at %s answered something that is not an access token", e.At).
			Hint(hintMetadataHost)
	case metadataServer:
		return Errorf(e, "the metadata server at %s answered something that is not an ID token: %v", e.At, e.Err).
			Hint(hintMetadataHost + ", host:port without a scheme (such as 127.0.0.1:8080 for an emulator)")
	case e.Missing:
		return Errorf(e, "the IAM Credentials API at %s answered HTTP 200 without a token", e.At).
			Hint(hintIAMEndpointAPI)
	}
	return Errorf(e, "the IAM Credentials API at %s answered something that is not an ID token: %v", e.At, e.Err).
		Hint(hintIAMEndpointAPI)
}

// iamEndpoint words an IAM Credentials endpoint refused before any request.
func iamEndpoint(e *token.IAMError) *Error {
	hint := "give the API's base URL, such as " + token.DefaultIAMCredentialsEndpoint + " or a Private Service Connect endpoint like https://iamcredentials-myendpoint.p.googleapis.com (from --iam-credentials-endpoint or GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT)"
	switch e.Problem {
	case transport.EndpointNotHTTP:
		return Errorf(e, "IAM Credentials endpoint %q is not an http(s) URL", e.Endpoint).Hint(hint)
	case transport.EndpointUserInfo:
		return Errorf(e, "IAM Credentials endpoint %s carries user information; refusing it", e.Endpoint).
			Hint("remove user:password@ from the URL: it would end up in logs")
	case transport.EndpointQuery:
		return Errorf(e, "IAM Credentials endpoint %s has a query or fragment", e.Endpoint).Hint(hint)
	}
	return Errorf(e, "refusing cleartext IAM Credentials endpoint %s: the caller's access token would cross the network unencrypted", e.Endpoint).
		Hint(hintCleartext)
}

// iamFailure words a failed generateIdToken, with the fix.
func iamFailure(e *token.IAMError) *Error {
	err, ep, target, a := e.Err, e.Endpoint, e.Target, e.Caller
	tooLarge, isTooLarge := errors.AsType[*transport.TooLargeError](err)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return interrupted(e, "the IAM Credentials API at "+ep)
	case isTooLarge:
		return Errorf(e, "the IAM Credentials API at %s answered more than %s; an ID token is about 1 KB", ep, transport.Size(tooLarge.Limit)).
			Hint(hintIAMEndpoint)
	case errors.As(err, new(*transport.CleartextError)), errors.As(err, new(*transport.NotLoopbackError)):
		return Errorf(e, "refusing to send the access token to %s: %v", ep, errors.Unwrap(err)).
			Hint("use https://; http:// is accepted only on loopback, for emulators")
	case err != nil:
		return Errorf(e, "cannot reach the IAM Credentials API at %s: %s", ep, clean.Flatten(Cause(err), 200)).
			Hint("check the network and any proxy (HTTPS_PROXY, NO_PROXY); behind Private Service Connect, pass --iam-credentials-endpoint")
	}
	said := fmt.Sprintf("HTTP %d %s", e.Status, oauthText(e.Code, e.Message, ""))
	switch {
	case e.Status == http.StatusForbidden && len(e.Delegates) > 0:
		return Errorf(e, "%s, or a delegate after it, lacks the permission to act as the next account in the chain to %s (%s)", caller(a), target, said).
			Hint(bindingHints(e)...)
	case e.Status == http.StatusForbidden:
		return Errorf(e, "%s lacks iam.serviceAccounts.getOpenIdToken on %s (%s)", caller(a), target, said).
			Hint(bindingHints(e)...)
	case e.Status == http.StatusNotFound:
		return Errorf(e, "the IAM Credentials API at %s does not know service account %s (%s)", ep, target, said).
			Hint("--impersonate takes the email of the service account to act as, like NAME@PROJECT.iam.gserviceaccount.com: check its spelling and project",
				"list the project's accounts: gcloud iam service-accounts list --project="+projectOf(target))
	case e.Status == http.StatusUnauthorized:
		return Errorf(e, "the IAM Credentials API at %s did not accept the access token of %s (%s)", ep, caller(a), said).
			Hint(relogin(a)...)
	case e.Status == http.StatusTooManyRequests || e.Status >= 500:
		times := fmt.Sprintf("%d times", e.Tries)
		if e.Tries == 1 {
			times = "and the deadline left no time to try again"
		}
		// 429 and 503 are token.ErrThrottled (IAMError.Unwrap), as STS's
		// throttling, so the run exits 75 (EX_TEMPFAIL).
		return Errorf(e, "the IAM Credentials API at %s answered %s, %s", ep, said, times).
			Hint("a transient fault at Google: try again in a minute")
	case e.Status == http.StatusBadRequest:
		return Errorf(e, "the IAM Credentials API at %s refused the request for %s (%s)", ep, target, said).
			Hint("check --audience and the emails in --impersonate")
	}
	return Errorf(e, "the IAM Credentials API at %s answered %s for %s", ep, said, target).
		Hint(hintIAMEndpoint)
}

// caller says who the caller is: the member when known, and where the
// credentials came from.
func caller(a *token.ADC) string {
	switch {
	case a.Type == token.MetadataAccount:
		return strings.TrimPrefix(a.Member, "serviceAccount:") + " (the metadata server's attached account)"
	case a.Member != "":
		return fmt.Sprintf("%s (%s in %s)", a.Member, a.Type, a.File)
	case a.Type == token.AuthorizedUser:
		return fmt.Sprintf("the user who signed in with gcloud (authorized_user in %s)", a.File)
	}
	return fmt.Sprintf("the caller (%s in %s)", a.Type, a.File)
}

// member is the --member of a binding for the caller, with a shell
// substitution or a placeholder where the credentials do not say.
func member(a *token.ADC) string {
	switch {
	case a.Member != "":
		return shellQuote(a.Member)
	case a.Type == token.AuthorizedUser:
		return "user:$(gcloud config get account)"
	}
	return "MEMBER"
}

// bindingHints say which role each link of the chain needs on the next,
// with the gcloud line that grants it.
func bindingHints(e *token.IAMError) []string {
	bind := func(on, member, role string) string {
		return fmt.Sprintf("gcloud iam service-accounts add-iam-policy-binding %s --member=%s --role=%s", shellQuote(on), member, role)
	}
	const openID, creator = "roles/iam.serviceAccountOpenIdTokenCreator", "roles/iam.serviceAccountTokenCreator"
	if len(e.Delegates) == 0 {
		return []string{
			"the caller needs iam.serviceAccounts.getOpenIdToken on " + e.Target + ", which roles/iam.serviceAccountOpenIdTokenCreator grants (roles/iam.serviceAccountTokenCreator has it too); grant it with:",
			bind(e.Target, member(e.Caller), openID),
			"Google answers the same when " + e.Target + " does not exist: check the email",
		}
	}
	hints := []string{"with delegates, each account in the chain needs roles/iam.serviceAccountTokenCreator on the next, and the last delegate roles/iam.serviceAccountOpenIdTokenCreator on " + e.Target + "; grant them with:"}
	m := member(e.Caller)
	for _, d := range e.Delegates {
		hints = append(hints, bind(d, m, creator))
		m = shellQuote("serviceAccount:" + d)
	}
	return append(hints, bind(e.Target, m, openID),
		"Google answers the same when an account in the chain does not exist: check the emails")
}

// relogin is the usual fix for credentials a Google endpoint refuses.
func relogin(a *token.ADC) []string {
	switch a.Type {
	case token.AuthorizedUser, token.ExternalAccountAuthorizedUser, token.ImpersonatedServiceAccount:
		return []string{signIn}
	case token.ServiceAccountKey:
		return []string{"check that the key in " + a.File + " is still valid: gcloud iam service-accounts keys list --iam-account=" + shellQuote(strings.TrimPrefix(a.Member, "serviceAccount:"))}
	case token.ExternalAccount:
		return []string{"check the Workload Identity Federation configuration in " + a.File + " and that its credential source holds a fresh token"}
	}
	return nil
}

// oauthText is an OAuth error as Google answered it.
func oauthText(code, desc, subtype string) string {
	s := cmp.Or(code, "(no error code)")
	if subtype != "" {
		s += "/" + subtype
	}
	if desc != "" {
		s += ": " + desc
	}
	return s
}

// projectOf is the project of a user-managed service account's email.
func projectOf(email string) string {
	_, domain, _ := strings.Cut(email, "@")
	if p, ok := strings.CutSuffix(domain, ".iam.gserviceaccount.com"); ok {
		return p
	}
	return "PROJECT"
}
