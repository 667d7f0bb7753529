// Package token is where Google ID tokens come from: the metadata server
// (MetadataSource) or the IAM Credentials API (IAMSource). It serves this
// command only (its API takes the module's internal types). Decode reads a
// token's claims without checking its signature: AWS STS does that against
// Google's published keys, and we only need the claims to name the session
// and to explain a failure.
package token

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/compute/metadata"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// DefaultAudience is the aud requested by default. STS does not check it,
// but a trust policy that pins accounts.google.com:oaud to it refuses tokens
// minted for any other service, so a token leaked from elsewhere cannot be
// replayed at STS.
const DefaultAudience = "sts.amazonaws.com"

// Source hands out one ID token per call: the one thing the exchange needs
// from Google.
type Source interface {
	Token(ctx context.Context) (secret.String, error)
}

// MetadataSource is a Source backed by the metadata server.
type MetadataSource struct {
	// Client talks to the metadata server; nil uses NewClient(nil).
	Client *metadata.Client
	// ServiceAccount is "default" or the email of an attached account.
	ServiceAccount string
	// Audience is the aud claim to request.
	Audience string
	// Trace, when not nil, is told about fallbacks (see Token).
	Trace *transport.Tracer
}

// Limits on the metadata server.
const (
	// MaxAnswer is the most bytes read from one answer: an ID token is
	// about 1 KB, so anything far larger is not from a metadata server.
	MaxAnswer = 64 << 10
	// RequestLimit bounds each request, as the metadata package's own
	// client does: a metadata server answers in milliseconds. It is
	// reported as this limit, not as the run's deadline, and not retried.
	RequestLimit = 5 * time.Second
	// RefusedFor is how long refused connections are tried again: GKE's
	// metadata server refuses them for a few seconds after a pod starts.
	RefusedFor = 5 * time.Second
)

// MetadataHost is where metadata requests go, as the metadata package
// decides: GCE_METADATA_HOST when set, else the link-local address.
func MetadataHost() string {
	return cmp.Or(os.Getenv("GCE_METADATA_HOST"), "169.254.169.254")
}

// CheckHost checks GCE_METADATA_HOST before any request. The metadata
// package pastes it between "http://" and the path, so anything but
// host[:port] changes the request: a scheme makes a host name of "http", a
// path or "?" or "#" moves the real path, and user:password@ is sent as
// Basic authentication.
func CheckHost() error {
	h := os.Getenv("GCE_METADATA_HOST")
	if h == "" {
		return nil
	}
	why := badHost(h)
	if why == "" {
		return nil
	}
	e := &HostError{Value: shownHost(h), Why: why}
	if fix := fixHost(h); fix != "" && badHost(fix) == "" {
		e.Fix = fix
	}
	return e
}

// badHost says what is wrong with h as host[:port], or "" if nothing.
func badHost(h string) string {
	switch {
	case strings.Contains(h, "://"):
		return "it has a scheme"
	case strings.ContainsRune(h, '@'):
		return "it has user information (user:password@), which would be sent as a password"
	case strings.ContainsAny(h, "/?#"):
		return "it has a path, query or fragment"
	}
	host, port := h, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "an IPv6 address must be in brackets, like [fd00::1]:8080"
		}
		host, port = h[1:end], strings.TrimPrefix(h[end+1:], ":")
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil || (h[end+1:] != "" && !strings.HasPrefix(h[end+1:], ":")) {
			return "the part in brackets is not an IPv6 address"
		}
	} else if i := strings.IndexByte(h, ':'); i >= 0 {
		host, port = h[:i], h[i+1:]
		if strings.ContainsRune(port, ':') {
			return "an IPv6 address must be in brackets, like [fd00::1]:8080"
		}
		if port == "" {
			return "the port after the colon is missing"
		}
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '+' {
			return "the port is not a number from 1 to 65535"
		}
	}
	if strings.HasPrefix(h, "[") {
		return ""
	}
	if host == "" || len(host) > 253 {
		return "the host name is empty or too long"
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.ContainsFunc(label, func(r rune) bool { return !alnum(r) && r != '-' }) {
			return "the host is not a valid name or address"
		}
	}
	return ""
}

// fixHost guesses the host:port meant by a value with a scheme, path or
// user information, for the hint.
func fixHost(h string) string {
	if !strings.Contains(h, "://") {
		h = "http://" + h
	}
	u, err := url.Parse(h)
	if err != nil {
		return ""
	}
	return u.Host
}

// shownHost is h for a message, without user information, which may be a
// password.
func shownHost(h string) string {
	if i := strings.LastIndexByte(h, '@'); i >= 0 {
		scheme := ""
		if j := strings.Index(h, "://"); j >= 0 && j < i {
			scheme = h[:j+3]
		}
		return scheme + "…@" + h[i+1:]
	}
	return h
}

// defaultClient is made on first use, so commands that never ask pay nothing.
var defaultClient = sync.OnceValue(func() *metadata.Client { return NewClient(nil) })

// NewClient returns a metadata client that honours GCE_METADATA_HOST, with
// the limits above, writing each request to trace when it is not nil.
func NewClient(trace *transport.Tracer) *metadata.Client {
	return metadata.NewWithOptions(&metadata.Options{Client: transport.NewClient(metadataPolicy(trace))})
}

func metadataPolicy(trace *transport.Tracer) transport.Policy {
	return transport.Policy{
		Peer:         "metadata server",
		MaxBody:      MaxAnswer,
		PerRequest:   RequestLimit,
		RetryRefused: RefusedFor,
		// The metadata server speaks plain http, at the host the operator
		// names; it is link-local, so never through a proxy.
		Cleartext: transport.CleartextAny,
		// Off Google Cloud, 169.254.169.254 usually drops packets: a
		// server that does not accept a connection within two seconds is
		// not there, and six tries with the metadata package's backoff
		// would keep the user waiting fifteen seconds to say so. Refused
		// connections are another matter, and resets stay retryable.
		DialTimeout:      2 * time.Second,
		FinalDialTimeout: true,
		Trace:            trace,
	}
}

// Token asks the metadata server for an ID token and checks that the answer
// is shaped like a JWT, and not longer than STS accepts, before anyone sends
// it on. It asks for the full format, whose claims name the VM; a metadata
// server that answers 400 to that (GKE Workload Identity, in some
// versions) is asked once more for the standard format.
func (m *MetadataSource) Token(ctx context.Context) (secret.String, error) {
	if err := CheckHost(); err != nil {
		return secret.String{}, err
	}
	c := m.client()
	sa := cmp.Or(m.ServiceAccount, "default")
	body, err := c.GetWithContext(ctx, identityPath(sa, m.Audience, true))
	if merr, ok := errors.AsType[*metadata.Error](err); ok && merr.Code == http.StatusBadRequest {
		m.Trace.Printf("metadata server: HTTP 400 to format=full, as GKE's sends; asking for the standard format")
		body, err = c.GetWithContext(ctx, identityPath(sa, m.Audience, false))
	}
	if err != nil {
		return secret.String{}, metadataError(err, sa)
	}
	return idToken(body, "metadata server", MetadataHost())
}

// idToken is what peer at answered when it is a JWT and not longer than
// STS accepts.
func idToken(answer, peer, at string) (secret.String, error) {
	tok := secret.New(strings.TrimSpace(answer))
	if n := len(tok.Reveal()); n > sts.MaxTokenLen {
		return secret.String{}, &AnswerError{Peer: peer, At: at, Want: "ID token", Len: n}
	}
	if _, err := Decode(tok); err != nil {
		return secret.String{}, &AnswerError{Peer: peer, At: at, Want: "ID token", Err: err}
	}
	return tok, nil
}

func identityPath(sa, audience string, full bool) string {
	q := url.Values{"audience": {audience}}
	if full {
		q.Set("format", "full")
	}
	return "instance/service-accounts/" + url.PathEscape(sa) + "/identity?" + q.Encode()
}

func (m *MetadataSource) client() *metadata.Client {
	if m.Client != nil {
		return m.Client
	}
	return defaultClient()
}

// metadataError carries a failed request for account sa as data.
func metadataError(err error, sa string) *MetadataError {
	e := &MetadataError{Host: MetadataHost(), Account: sa, Err: err}
	if errors.As(err, new(metadata.NotDefinedError)) {
		e.Status = http.StatusNotFound
	} else if merr, ok := errors.AsType[*metadata.Error](err); ok {
		e.Status, e.Body = merr.Code, excerpt(merr.Message)
	}
	return e
}

// Email asks the metadata server for the email of the service account.
func (m *MetadataSource) Email(ctx context.Context) (string, error) {
	if err := CheckHost(); err != nil {
		return "", err
	}
	email, err := m.client().EmailWithContext(ctx, m.ServiceAccount)
	if err != nil {
		return "", metadataError(err, m.ServiceAccount)
	}
	return strings.TrimSpace(email), nil
}
