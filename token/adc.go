package token

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/regfile"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// CloudPlatformScope is the scope of the caller's access token:
// generateIdToken takes cloud-platform or iam, and cloud-platform is what
// gcloud's application-default login grants.
const CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// Where Application Default Credentials come from, in the order Google's
// client libraries look (ADC.From).
const (
	FromEnv       = "GOOGLE_APPLICATION_CREDENTIALS"
	FromWellKnown = "gcloud's well-known file"
	FromMetadata  = "the metadata server"
)

// The types of ADC this package takes: the four an ADC file has in
// practice, and the metadata server's attached account.
const (
	AuthorizedUser             = "authorized_user"
	ServiceAccountKey          = "service_account"
	ExternalAccount            = "external_account"
	ImpersonatedServiceAccount = "impersonated_service_account"
	// ExternalAccountAuthorizedUser is a workforce identity federation
	// login from gcloud; x/oauth2 handles it as it handles authorized_user.
	ExternalAccountAuthorizedUser = "external_account_authorized_user"
	MetadataAccount               = "metadata"
)

// MaxADCFile is the largest ADC file read. A service account key file is
// about 2.3 KB; anything far larger is not an ADC file.
const MaxADCFile = 64 << 10

// ADC are the caller's Application Default Credentials as found: of what
// type, where, and for whom. They hold no token; AccessToken gets one.
type ADC struct {
	// Type is the file's type, or MetadataAccount.
	Type string
	// From is where they were found: FromEnv, FromWellKnown or
	// FromMetadata.
	From string
	// File is the file read; empty for the metadata server.
	File string
	// Member is the caller as IAM names it in a binding's --member
	// (serviceAccount:EMAIL, principalSet://…), when the credentials say;
	// empty for a user's login, whose email the file does not hold.
	Member string
	// TokenURL is where the access token is asked for.
	TokenURL string

	json    []byte
	account string // metadata: the attached account asked for
	md      *metadata.Client
}

// adcFile is the part of an ADC file that says what it is.
type adcFile struct {
	Type                           string `json:"type"`
	ClientEmail                    string `json:"client_email"`
	TokenURI                       string `json:"token_uri"`
	TokenURL                       string `json:"token_url"`
	Audience                       string `json:"audience"`
	ServiceAccountImpersonationURL string `json:"service_account_impersonation_url"`
	// Secrets the file holds, remembered so that Redact removes them from
	// anything a peer echoes.
	RefreshToken string `json:"refresh_token"`
	ClientSecret string `json:"client_secret"`
	PrivateKey   string `json:"private_key"`
	Source       *struct {
		RefreshToken string `json:"refresh_token"`
		ClientSecret string `json:"client_secret"`
		PrivateKey   string `json:"private_key"`
	} `json:"source_credentials"`
}

// WellKnownFile is where `gcloud auth application-default login` writes
// the user's credentials, as x/oauth2 looks for it.
func WellKnownFile() string {
	const f = "application_default_credentials.json"
	if runtime.GOOS == "windows" {
		return filepath.Join(os.Getenv("APPDATA"), "gcloud", f)
	}
	home := os.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".config", "gcloud", f)
}

// FindADC looks for Application Default Credentials as Google's client
// libraries do: the file GOOGLE_APPLICATION_CREDENTIALS names, then gcloud's
// well-known file, then the metadata server (account is the attached
// account to use there, "default" unless --service-account says). It reads
// the file itself, bounded and without blocking, and asks the metadata
// server through md, which is bounded, rather than through x/oauth2's
// unbounded package-level metadata client.
func FindADC(ctx context.Context, md *metadata.Client, account string) (*ADC, error) {
	if p := os.Getenv(FromEnv); p != "" {
		return readADC(ctx, p, FromEnv)
	}
	wk := WellKnownFile()
	a, err := readADC(ctx, wk, FromWellKnown)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return a, err
	}
	if account == "" {
		account = "default"
	}
	if md == nil {
		md = defaultClient()
	}
	email, err := md.EmailWithContext(ctx, account)
	if err != nil {
		// A metadata server that answered is there: its answer is the
		// problem (an unknown --service-account, say), not a lack of ADC.
		var answered *metadata.Error
		var notDefined metadata.NotDefinedError
		if ctx.Err() != nil || errors.As(err, &answered) || errors.As(err, &notDefined) {
			return nil, explain(ctx, err, account)
		}
		return nil, fail.Errorf(err, "no Application Default Credentials: %s is not set, %s does not exist, and the metadata server at %s did not answer (%s)", FromEnv, wk, MetadataHost(), fail.Flatten(explain(ctx, err, account).Error(), 200)).
			Hint("on a laptop: gcloud auth application-default login",
				"in CI: set "+FromEnv+" to a service account key or Workload Identity Federation configuration file (gcloud iam workload-identity-pools create-cred-config)",
				"on Google Cloud: the metadata server gives the attached service account's credentials; set GCE_METADATA_HOST=host:port to reach another one")
	}
	email = strings.TrimSpace(email)
	return &ADC{Type: MetadataAccount, From: FromMetadata, Member: "serviceAccount:" + email, TokenURL: "http://" + MetadataHost() + "/computeMetadata/v1/instance/service-accounts/" + account + "/token", account: account, md: md}, nil
}

// readADC reads and recognises the ADC file at path.
func readADC(ctx context.Context, path, from string) (*ADC, error) {
	deadline, _ := ctx.Deadline()
	b, err := regfile.Read(path, MaxADCFile, deadline)
	if err != nil {
		if from == FromWellKnown && errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		e := fail.Errorf(err, "cannot read the Application Default Credentials file %s (from %s): %s", path, from, fileErr(err))
		if from == FromEnv {
			e.Hint(FromEnv + " must name a readable JSON file: a service account key, a Workload Identity Federation configuration, or the file `gcloud auth application-default login` writes")
		}
		return nil, e
	}
	var f adcFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fail.Errorf(err, "the Application Default Credentials file %s (from %s) is not JSON", path, from).
			Hint("write it again: gcloud auth application-default login, or download the key or configuration file anew")
	}
	for _, s := range []string{f.RefreshToken, f.ClientSecret, f.PrivateKey} {
		if s != "" {
			secret.New(s)
		}
	}
	if f.Source != nil {
		for _, s := range []string{f.Source.RefreshToken, f.Source.ClientSecret, f.Source.PrivateKey} {
			if s != "" {
				secret.New(s)
			}
		}
	}
	a := &ADC{Type: f.Type, From: from, File: path, json: b}
	switch f.Type {
	case AuthorizedUser, ExternalAccountAuthorizedUser:
		a.TokenURL = orDefault(f.TokenURI, orDefault(f.TokenURL, google.Endpoint.TokenURL))
	case ServiceAccountKey:
		a.TokenURL = orDefault(f.TokenURI, google.Endpoint.TokenURL)
		if f.ClientEmail != "" {
			a.Member = "serviceAccount:" + f.ClientEmail
		}
	case ExternalAccount:
		a.TokenURL = orDefault(f.TokenURL, "https://sts.googleapis.com/v1/token")
		a.Member = poolMember(f.Audience)
		if e := impersonatedEmail(f.ServiceAccountImpersonationURL); e != "" {
			a.Member = "serviceAccount:" + e
		}
	case ImpersonatedServiceAccount:
		a.TokenURL = f.ServiceAccountImpersonationURL
		if e := impersonatedEmail(f.ServiceAccountImpersonationURL); e != "" {
			a.Member = "serviceAccount:" + e
		}
	default:
		return nil, fail.Errorf(nil, "the Application Default Credentials file %s (from %s) is of type %q, which --impersonate does not take", path, from, fail.Flatten(f.Type, 60)).
			Hint("--impersonate takes ADC files of type authorized_user (gcloud auth application-default login), service_account (a key), external_account (Workload Identity Federation) and impersonated_service_account")
	}
	return a, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// poolMember is the IAM member for every identity of the workload identity
// pool that a provider's audience names:
// //iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X
// becomes principalSet://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/*.
func poolMember(audience string) string {
	rest, ok := strings.CutPrefix(audience, "//iam.googleapis.com/")
	if !ok {
		return ""
	}
	pool, _, ok := strings.Cut(rest, "/providers/")
	if !ok || !strings.Contains(pool, "/workloadIdentityPools/") {
		return ""
	}
	return "principalSet://iam.googleapis.com/" + pool + "/*"
}

// impersonatedEmail is the account a generateAccessToken URL acts as.
func impersonatedEmail(u string) string {
	i := strings.Index(u, "/serviceAccounts/")
	if i < 0 {
		return ""
	}
	email, _, _ := strings.Cut(u[i+len("/serviceAccounts/"):], ":")
	if email, err := url.PathUnescape(email); err == nil && ValidEmail(email) {
		return email
	}
	return ""
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

// AccessToken gets an access token of scope cloud-platform for a: from the
// file's token endpoint through x/oauth2, which knows every ADC type, or
// from the metadata server. hc carries every request x/oauth2 makes; it
// must be bounded (see NewGoogleClient). Nothing is cached or written.
func (a *ADC) AccessToken(ctx context.Context, hc *GoogleClient) (secret.String, error) {
	if a.Type == MetadataAccount {
		return a.metadataToken(ctx)
	}
	// x/oauth2 takes its HTTP client from the context, and some of its
	// sources send requests without a context of their own: the client
	// gives them this one, so the deadline holds for them too.
	client, rec := hc.forCall(ctx)
	octx := context.WithValue(ctx, oauth2.HTTPClient, client)
	creds, err := google.CredentialsFromJSONWithTypeAndParams(octx, a.json, google.CredentialsType(a.Type), google.CredentialsParams{Scopes: []string{CloudPlatformScope}})
	if err != nil {
		return secret.String{}, fail.Errorf(err, "the Application Default Credentials file %s (%s) cannot be used: %s", a.File, a.Type, fail.Flatten(err.Error(), 300)).
			Hint("write it again: gcloud auth application-default login, or download the key or configuration file anew")
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		return secret.String{}, a.explain(ctx, err, rec.get())
	}
	if tok.RefreshToken != "" {
		secret.New(tok.RefreshToken)
	}
	at := secret.New(tok.AccessToken)
	if n := len(at.Reveal()); n == 0 || n > maxAccessToken {
		return secret.String{}, fail.Errorf(nil, "the token endpoint %s answered an access token of %d characters", shownURL(a.TokenURL), n).
			Hint("Google's access tokens are a few hundred characters; check token_uri or token_url in " + a.File)
	}
	return at, nil
}

// maxAccessToken bounds an access token; Google's are a few hundred
// characters, federated ones a few KB.
const maxAccessToken = 16 << 10

// metadataToken asks the metadata server for the attached account's
// access token.
func (a *ADC) metadataToken(ctx context.Context) (secret.String, error) {
	body, err := a.md.GetWithContext(ctx, "instance/service-accounts/"+url.PathEscape(a.account)+"/token?"+url.Values{"scopes": {CloudPlatformScope}}.Encode())
	if err != nil {
		return secret.String{}, explain(ctx, err, a.account)
	}
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &t); err != nil || t.AccessToken == "" || len(t.AccessToken) > maxAccessToken {
		return secret.String{}, fail.Errorf(err, "the metadata server at %s answered something that is not an access token", MetadataHost()).
			Hint("check that GCE_METADATA_HOST (if set) names a Google metadata server")
	}
	return secret.New(t.AccessToken), nil
}

// explain turns a failure to get an access token into a message that says
// which endpoint refused what, and the fix for the usual causes. answer is
// the endpoint's last error answer, if there was one.
func (a *ADC) explain(ctx context.Context, err error, answer *errorAnswer) error {
	var tooLarge *transport.TooLargeError
	where := shownURL(a.TokenURL)
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return fail.Errorf(err, "no access token from %s before the deadline", where).
			AtDeadline()
	case answer != nil && answer.err != nil:
		return a.unreachable(answer)
	case errors.As(err, &tooLarge):
		return fail.Errorf(err, "the token endpoint %s answered more than %s", where, transport.Size(tooLarge.Limit)).
			Hint("check token_uri or token_url in " + a.File)
	case answer == nil:
		return fail.Errorf(err, "cannot get an access token for the Application Default Credentials in %s (%s): %s", a.File, a.Type, fail.Flatten(fail.Cause(err), 300)).
			Hint(a.relogin()...)
	}
	code, desc, subtype := answer.oauth()
	where = shownURL(answer.url)
	e := fail.Errorf(err, "the token endpoint %s refused the Application Default Credentials in %s (%s): HTTP %d %s", where, a.File, a.Type, answer.status, oauthText(code, desc, subtype))
	switch {
	case code == "invalid_grant" && subtype == "invalid_rapt":
		e.Msg = fmt.Sprintf("your Google login in %s needs re-authentication (invalid_rapt at %s)", a.File, where)
		return e.Hint("sign in again: gcloud auth application-default login")
	case code == "invalid_grant" && (a.Type == AuthorizedUser || a.Type == ExternalAccountAuthorizedUser || a.Type == ImpersonatedServiceAccount && answer.url == a.sourceTokenURL()):
		e.Msg = fmt.Sprintf("your Google login in %s has expired or was revoked (invalid_grant at %s: %s)", a.File, where, orDefault(desc, "no description"))
		return e.Hint("sign in again: gcloud auth application-default login")
	case code == "invalid_grant" && a.Type == ServiceAccountKey:
		return e.Hint("the key in "+a.File+" may have been deleted or disabled: gcloud iam service-accounts keys list --iam-account="+strings.TrimPrefix(a.Member, "serviceAccount:"),
			"or this machine's clock is off (the assertion is valid for one hour from now): check time sync")
	case a.Type == ExternalAccount && (code == "invalid_grant" || code == "invalid_target" || code == "invalid_request"):
		return e.Hint("Google's STS did not accept the subject token for the workload identity provider in the file's audience: check the provider's issuer, allowed audiences and attribute condition, and that the credential source in " + a.File + " holds a fresh token")
	case answer.status == 403 && a.Type == ImpersonatedServiceAccount:
		return e.Hint("the source credentials need roles/iam.serviceAccountTokenCreator on " + strings.TrimPrefix(a.Member, "serviceAccount:"))
	}
	return e.Hint(a.relogin()...)
}

// unreachable explains a request to a token endpoint that got no answer.
func (a *ADC) unreachable(answer *errorAnswer) error {
	err := answer.err
	where := shownURL(answer.url)
	var tooLarge *transport.TooLargeError
	var notLoopback *transport.NotLoopbackError
	var cleartext *cleartextError
	switch {
	case errors.As(err, &cleartext):
		return fail.Errorf(err, "refusing to send the credentials of %s to %s: %v", a.File, where, cleartext).
			Hint("token_uri and token_url must be https:// URLs; http:// is accepted only on loopback, for emulators, and for a link-local metadata service")
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
		return []string{"check that the key in " + a.File + " is still valid: gcloud iam service-accounts keys list --iam-account=" + strings.TrimPrefix(a.Member, "serviceAccount:")}
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

// errorAnswer is the status and start of the body of an error answer from a
// Google endpoint: x/oauth2 hides some of them in error strings, so the
// client keeps its own copy.
type errorAnswer struct {
	url    string
	status int
	body   []byte
	// err is the transport's error when no answer came.
	err error
}

// maxErrorBody is how much of an error answer is kept for its message.
const maxErrorBody = 8 << 10

// oauth reads RFC 6749's error, error_description and Google's
// error_subtype, or a Google API error's status and message.
func (e *errorAnswer) oauth() (code, desc, subtype string) {
	var o struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
		ErrorSubtype     string          `json:"error_subtype"`
	}
	if json.Unmarshal(e.body, &o) != nil {
		return "", excerpt(string(e.body)), ""
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

// GoogleClient is the HTTP client for Google's token endpoints and the IAM
// Credentials API: proxy from the environment, no redirects, http:// only
// to loopback, answers capped, each request traced. Each call gets a client
// of its own from it (forCall) that also keeps the call's last failure for
// messages, so concurrent calls never see each other's.
type GoogleClient struct {
	rt http.RoundTripper
}

// MaxGoogleAnswer is the most bytes read from one answer of a Google
// endpoint; tokens and errors are a few KB.
const MaxGoogleAnswer = 256 << 10

// NewGoogleClient returns a client whose requests are traced to trace when
// it is not nil, and named peer in errors.
func NewGoogleClient(peer string, trace *transport.Tracer) *GoogleClient {
	base := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            cleartextDialer(),
		TLSHandshakeTimeout:    10 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		IdleConnTimeout:        30 * time.Second,
	}
	return &GoogleClient{rt: transport.Wrap(base, transport.Config{Peer: peer, MaxBody: MaxGoogleAnswer, Trace: trace})}
}

// forCall returns an HTTP client for one call, whose requests without a
// deadline of their own get ctx's, and the recorder of its failures.
func (c *GoogleClient) forCall(ctx context.Context) (*http.Client, *recorder) {
	rec := &recorder{base: c.rt}
	return &http.Client{
		Transport: ctxRoundTripper{ctx: ctx, base: rec},
		// Google's token endpoints and the IAM API answer; a redirect
		// would carry a credential elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, rec
}

type ctxRoundTripper struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Context().Done() == nil {
		req = req.WithContext(t.ctx)
	}
	return t.base.RoundTrip(req)
}

// cleartextError refuses an http:// URL off this machine before anything
// is sent.
type cleartextError struct{ url string }

func (e *cleartextError) Error() string {
	return "cleartext http:// to " + e.url + " is refused; only loopback and link-local metadata addresses may be plain http"
}

// plainHTTPAllowed says whether host, as written in a URL, may be reached
// over plain http: this machine, or a link-local address, where the
// instance metadata services that Workload Identity Federation reads its
// subject token from answer (AWS's and Azure's, at 169.254.169.254). Neither
// leaves the host's own link.
func plainHTTPAllowed(host string) bool {
	if transport.IsLoopback(host) {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLinkLocalUnicast()
}

// localOnly is a dialer's Control hook for plain http: the address a name
// resolved to must be loopback or link-local too.
func localOnly(network, address string, c syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		host = address
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLinkLocalUnicast() {
		return nil
	}
	return transport.LoopbackOnly(network, address, c)
}

// cleartextKey marks a request's context as plain http, for the dialer.
type cleartextKey struct{}

// cleartextDialer dials as usual, but for a plain http request checks that
// the address its name resolved to is local (localOnly).
func cleartextDialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	plain := &net.Dialer{Timeout: 10 * time.Second, Control: localOnly}
	tls := &net.Dialer{Timeout: 10 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if ctx.Value(cleartextKey{}) != nil {
			return plain.DialContext(ctx, network, addr)
		}
		return tls.DialContext(ctx, network, addr)
	}
}

// recorder refuses cleartext beyond this machine and its link, and keeps the last error
// answer, or the last transport error, of one call.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	last *errorAnswer
}

func (r *recorder) set(a *errorAnswer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = a
}

func (r *recorder) get() *errorAnswer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	shown := req.URL.Scheme + "://" + req.URL.Host + req.URL.Path
	if req.URL.Scheme == "http" {
		if !plainHTTPAllowed(req.URL.Hostname()) || req.URL.User != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			err := &cleartextError{url: shown}
			r.set(&errorAnswer{url: shown, err: err})
			return nil, err
		}
		// ProxyFromEnvironment never proxies loopback, so the dialer sees
		// the address, and checks what the name resolved to.
		req = req.WithContext(context.WithValue(req.Context(), cleartextKey{}, true))
	}
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		// x/oauth2 wraps errors with %v, which loses their types: keep
		// the error here, where it still has them.
		r.set(&errorAnswer{url: shown, err: err})
		return nil, err
	}
	if resp.StatusCode < 400 {
		return resp, err
	}
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	r.set(&errorAnswer{url: shown, status: resp.StatusCode, body: b})
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}
