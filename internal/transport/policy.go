package transport

// This file holds the rules an auditor must read, for every peer: what may
// be sent in cleartext, that no redirect is followed, how many bytes an
// answer may have, and which secrets a request or an answer carries, which
// are remembered for redaction before anything is sent or parsed.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// Cleartext says which http:// URLs a client may send to.
type Cleartext int

const (
	// CleartextLoopback allows http:// only to this machine (emulators and
	// test fakes): the host as written must be a loopback address or
	// localhost, and the address dialled must be loopback too. Requests
	// whose context says so (AllowLinkLocal) may also go to the literal
	// link-local addresses named there.
	CleartextLoopback Cleartext = iota
	// CleartextAny allows any http:// URL. Only for the metadata server,
	// which speaks nothing else and whose host the operator names
	// (GCE_METADATA_HOST).
	CleartextAny
)

// Policy is everything a client to one peer may do.
type Policy struct {
	// Peer names the server in errors and in the trace.
	Peer string
	// MaxBody is the most bytes read from one answer's body; reading more
	// fails with a *TooLargeError. Zero means no cap.
	MaxBody int64
	// PerRequest limits each request, from sending it to the last byte of
	// its answer, apart from the caller's deadline; going over fails with a
	// *TimeoutError. Zero: no limit.
	PerRequest time.Duration
	// RetryRefused is how long refused connections of a request without a
	// body are tried again, within the caller's deadline, before it fails
	// with a *RefusedError. Zero: no retries.
	RetryRefused time.Duration
	// Cleartext says which http:// URLs may be sent to.
	Cleartext Cleartext
	// Proxy uses the environment's proxy (HTTPS_PROXY, NO_PROXY).
	Proxy bool
	// DialTimeout bounds a connection; zero means 10s.
	DialTimeout time.Duration
	// FinalDialTimeout makes a dial timeout an error that says it is not
	// temporary, so that no library above retries it: a metadata server
	// that does not accept a connection within DialTimeout is not there.
	FinalDialTimeout bool
	// RootCAs, when not nil, replaces the system's roots.
	RootCAs *x509.CertPool
	// Secrets remembers, for redaction, every credential a request carries
	// and every token an answer carries (see registerRequest).
	Secrets bool
	// Trace, when not nil, gets a line for every request.
	Trace *Tracer
}

// NewClient is the one constructor of the HTTP clients to every peer:
// STS, the metadata server, Google's token endpoints and the IAM
// Credentials API. It follows no redirect (a redirect would carry a
// credential elsewhere, and none of our peers sends one), and applies p.
func NewClient(p Policy) *http.Client {
	base := &http.Transport{
		DialContext:            dial(p),
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.RootCAs},
		TLSHandshakeTimeout:    10 * time.Second,
		MaxResponseHeaderBytes: 64 << 10, // a peer can send headers without end too
		IdleConnTimeout:        30 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	if p.Proxy {
		base.Proxy = http.ProxyFromEnvironment
	}
	return &http.Client{Transport: Wrap(base, p), CheckRedirect: noRedirects}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// EndpointProblem is what CheckEndpoint finds wrong with a URL that a
// credential is to be sent to.
type EndpointProblem int

// The problems, in the order they are looked for.
const (
	EndpointOK EndpointProblem = iota
	// EndpointUserInfo: user:password@, which would end up in logs.
	// Looked for first, so that no other problem's message quotes it.
	EndpointUserInfo
	// EndpointNotHTTP: not an http(s) URL with a host.
	EndpointNotHTTP
	// EndpointCleartext: http:// to a host that is not loopback.
	EndpointCleartext
	// EndpointQuery: a query or fragment. Looked for last, so that a
	// caller that takes a query (STS) may treat it as EndpointOK.
	EndpointQuery
)

// CheckEndpoint is the one check of an endpoint URL given by the user
// (the STS, IAM Credentials and federation endpoints): https, or http to
// loopback; no user information; no query or fragment. The caller words
// the problem, as it knows where the URL came from.
func CheckEndpoint(raw string) (*url.URL, EndpointProblem) {
	u, err := url.Parse(raw)
	switch {
	case err == nil && u.User != nil:
		return u, EndpointUserInfo
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return u, EndpointNotHTTP
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return u, EndpointCleartext
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return u, EndpointQuery
	}
	return u, EndpointOK
}

// TLSFailure words the TLS failure in err's chain, or returns "": a
// certificate that does not verify, or a peer that does not speak TLS.
// No retry can fix either.
func TLSFailure(err error) string {
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, new(x509.UnknownAuthorityError)):
		return "the certificate is signed by an unknown authority"
	case errors.As(err, &host):
		return "the " + strings.TrimPrefix(host.Error(), "x509: ")
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired {
			return "the certificate has expired or is not yet valid (check this machine's clock)"
		}
		return invalid.Error()
	case errors.As(err, &verify):
		return verify.Err.Error()
	case errors.As(err, new(tls.RecordHeaderError)), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "the server does not speak TLS (is the endpoint http://?)"
	}
	return ""
}

// isLoopback reports whether host, as written in a URL, is this machine: a
// loopback address or "localhost". It is the test for letting an http://
// endpoint through; the dialer checks the address actually dialled.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isLinkLocal reports whether host is a literal link-local address, where
// the instance metadata services that federated credentials read from
// answer (AWS's and Azure's, at 169.254.169.254).
func isLinkLocal(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLinkLocalUnicast()
}

// linkLocalKey carries the link-local hosts a call may reach over http.
type linkLocalKey struct{}

// AllowLinkLocal lets the requests made with the returned context reach
// the literal link-local hosts of urls over plain http, as a federated
// credential source's metadata service is reached. Any other URL, and any
// URL with a host name rather than an address, is ignored, so a token
// endpoint never qualifies by being named here.
func AllowLinkLocal(ctx context.Context, urls ...string) context.Context {
	var hosts []string
	for _, raw := range urls {
		if u, err := url.Parse(raw); err == nil && u.Scheme == "http" && isLinkLocal(u.Hostname()) {
			hosts = append(hosts, u.Hostname())
		}
	}
	if len(hosts) == 0 {
		return ctx
	}
	return context.WithValue(ctx, linkLocalKey{}, hosts)
}

// CleartextError refuses an http:// URL off this machine before anything
// is sent.
type CleartextError struct {
	// URL is the URL refused, without user information or query.
	URL string
}

func (e *CleartextError) Error() string {
	return "cleartext http:// to " + e.URL + " is refused; only loopback and link-local metadata addresses may be plain http"
}

// NotLoopbackError says a cleartext endpoint's name led to an address that
// is not loopback.
type NotLoopbackError struct{ Addr string }

func (e *NotLoopbackError) Error() string {
	return "the endpoint's host name resolved to " + e.Addr + ", which is not a loopback address"
}

// dialKey marks a cleartext request's context for the dialer: the value
// is whether link-local addresses may be dialled.
type dialKey struct{}

// checkCleartext refuses a request the policy does not allow in
// cleartext, and marks one it allows for the dialer's check.
func checkCleartext(p Policy, req *http.Request) (*http.Request, error) {
	if req.URL.Scheme != "http" || p.Cleartext == CleartextAny {
		return req, nil
	}
	host := req.URL.Hostname()
	allowed, _ := req.Context().Value(linkLocalKey{}).([]string)
	linkLocal := isLinkLocal(host) && slices.Contains(allowed, host)
	if req.URL.User != nil || !isLoopback(host) && !linkLocal {
		return nil, &CleartextError{URL: req.URL.Scheme + "://" + req.URL.Host + req.URL.Path}
	}
	// ProxyFromEnvironment never proxies loopback, so the dialer sees the
	// address, and checks what the name resolved to.
	return req.WithContext(context.WithValue(req.Context(), dialKey{}, linkLocal)), nil
}

// dial dials with the check of the address a cleartext request's name
// resolved to, and makes dial timeouts final if p says.
func dial(p Policy) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{
		Timeout:   cmp.Or(p.DialTimeout, 10*time.Second),
		KeepAlive: 30 * time.Second,
		// The request's context reaches the dial, which runs after the name
		// is resolved and before anything is sent: checkCleartext's mark
		// says whether, and where, this connection may go, so a localhost
		// that /etc/hosts or DNS points elsewhere is refused.
		ControlContext: func(ctx context.Context, _, address string, _ syscall.RawConn) error {
			host := hostOf(address)
			linkLocal, cleartext := ctx.Value(dialKey{}).(bool)
			if ip := net.ParseIP(host); !cleartext || ip != nil && (ip.IsLoopback() || linkLocal && ip.IsLinkLocalUnicast()) {
				return nil
			}
			return &NotLoopbackError{Addr: host}
		},
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if nerr, ok := errors.AsType[net.Error](err); p.FinalDialTimeout && ok && nerr.Timeout() && ctx.Err() == nil {
			return nil, dialTimeout{d.Timeout}
		}
		return conn, err
	}
}

// hostOf is the host of a host:port address, or the address itself.
func hostOf(address string) string {
	if host, _, err := net.SplitHostPort(address); err == nil {
		return host
	}
	return address
}

// dialTimeout is a dial timeout that neither wraps a temporary error nor
// claims to be one, so nothing retries it.
type dialTimeout struct{ after time.Duration }

func (e dialTimeout) Error() string {
	return "connect timed out after " + e.after.String()
}

// Timeout reports true, for callers that ask.
func (dialTimeout) Timeout() bool { return true }

// The form fields and answer fields that carry a credential.
var (
	secretFormFields   = []string{"subject_token", "actor_token", "assertion", "refresh_token", "client_secret"}
	secretAnswerFields = []string{"access_token", "accessToken", "id_token", "token", "refresh_token",
		// An AWS metadata service's credentials, which a federated
		// credential source reads.
		"SecretAccessKey", "Token"}
)

// maxFormBody bounds a request body read to find its secrets; our own
// requests are a few KB.
const maxFormBody = 1 << 20

// registerRequest remembers every credential req carries before it is
// sent: the Authorization header (for Basic, the decoded id:secret and the
// secret too) and the form fields that hold a token, a key's assertion or
// a client secret. A peer that echoes any of them gets it redacted.
func registerRequest(req *http.Request) (*http.Request, error) {
	if a := req.Header.Get("Authorization"); a != "" {
		scheme, cred, _ := strings.Cut(a, " ")
		secret.New(a)
		secret.New(cred)
		// Decoded whole, for a Basic credential without a colon (an API
		// key a credential source's headers carry) too: BasicAuth below
		// reads only id:secret.
		if b, err := base64.StdEncoding.DecodeString(cred); err == nil && strings.EqualFold(scheme, "Basic") {
			secret.New(string(b))
		}
	}
	if _, pw, ok := req.BasicAuth(); ok {
		secret.New(pw)
		// x/oauth2 URL-escapes the client secret before encoding it.
		if pw, err := url.QueryUnescape(pw); err == nil {
			secret.New(pw)
		}
	}
	if req.Body == nil || req.Body == http.NoBody || !strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return req, nil
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, maxFormBody))
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	if form, err := url.ParseQuery(string(b)); err == nil {
		for _, f := range secretFormFields {
			for _, v := range form[f] {
				secret.New(v)
			}
		}
	}
	req = req.Clone(req.Context())
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return req, nil
}

// registerAnswer remembers every token resp's body carries before the
// caller parses it: JSON fields that hold one, and the whole body of an
// AWS metadata service's session token (IMDSv2). The body, capped as
// before, is read here and handed on whole, or with the error that ended
// the reading.
func registerAnswer(req *http.Request, resp *http.Response) {
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	var v map[string]any
	if json.Unmarshal(bytes.TrimSpace(b), &v) == nil {
		for _, f := range secretAnswerFields {
			if s, ok := v[f].(string); ok {
				secret.New(s)
			}
		}
	}
	if req.Method == http.MethodPut && req.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") != "" && len(b) <= 4<<10 {
		secret.New(strings.TrimSpace(string(b)))
	}
	var replay io.Reader = bytes.NewReader(b)
	if err != nil {
		replay = io.MultiReader(replay, failed{err})
	}
	resp.Body = io.NopCloser(replay)
}

// failed is a reader that only returns the error that ended a reading.
type failed struct{ err error }

func (f failed) Read([]byte) (int, error) { return 0, f.err }

// readOnlyBodies hides a request body's WriteTo. The AWS SDK's body
// (smithy-go's safeWriteToReadCloser) returns io.EOF from WriteTo once it
// is closed, which it is as soon as the peer has answered; net/http, which
// checks through WriteTo that nothing is left past Content-Length, takes
// that for a failed write and closes the connection under the answer, and
// the SDK retries a call STS had answered (seen once in forty runs).
func readOnlyBodies(req *http.Request) *http.Request {
	if _, ok := req.Body.(io.WriterTo); ok {
		// A RoundTripper must not change the caller's request.
		req = req.Clone(req.Context())
		req.Body = readOnly{req.Body}
	}
	return req
}

// readOnly is an io.ReadCloser and nothing more.
type readOnly struct{ io.ReadCloser }
