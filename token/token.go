// Package token is where Google ID tokens come from. It serves this command
// only (its API takes the module's internal types).
//
// A Source hands out one token per call. The MetadataSource asks the
// metadata server of a Compute Engine VM, GKE pod, Cloud Run service or
// Cloud Function for a Google-signed token of the attached service account.
// Decode reads a token's claims without checking its signature: AWS STS does
// that against Google's published keys, and we only need the claims to name
// the session and to explain a failure.
package token

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/compute/metadata"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// DefaultAudience is the aud requested by default. STS does not check it,
// but a trust policy that pins accounts.google.com:oaud to it refuses tokens
// minted for any other service, so a token leaked from elsewhere cannot be
// replayed at STS.
const DefaultAudience = "sts.amazonaws.com"

// Source hands out ID tokens. It is the one thing the exchange needs from
// Google, so tests and other token origins can stand in for the metadata
// server.
type Source interface {
	Token(ctx context.Context) (secret.String, error)
}

// MetadataSource is a Source backed by the metadata server.
type MetadataSource struct {
	// Client talks to the metadata server; nil uses a client that honours
	// GCE_METADATA_HOST, never uses a proxy, and gives up on a host that
	// does not accept a connection within two seconds.
	Client *metadata.Client
	// ServiceAccount is "default" or the email of an attached account.
	ServiceAccount string
	// Audience is the aud claim to request.
	Audience string
}

// MetadataHost is where metadata requests go: GCE_METADATA_HOST when set, as
// the metadata package does, else the link-local address. It is exported for
// messages, so they name the host that was actually asked.
func MetadataHost() string {
	if h := os.Getenv("GCE_METADATA_HOST"); h != "" {
		return h
	}
	return "169.254.169.254"
}

// defaultClient is the metadata client used when MetadataSource.Client is nil.
var defaultClient = metadata.NewWithOptions(&metadata.Options{Client: &http.Client{
	Timeout: 5 * time.Second, // the metadata package's own per-request limit
	// The metadata server answers; it does not send us elsewhere for a token.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport: &http.Transport{
		Proxy:       nil, // the metadata server is link-local: never through a proxy
		DialContext: dialOnce(&net.Dialer{Timeout: 2 * time.Second}),
	},
}})

// dialOnce makes a dial timeout final. The metadata package retries errors
// that say they are temporary, and a dial timeout says so, but a metadata
// server that does not accept a connection within two seconds is not there:
// off Google Cloud, 169.254.169.254 usually drops packets, and six tries
// with backoff would keep the user waiting for fifteen seconds before saying
// so. Refused connections and resets stay retryable: a GKE metadata server
// that is restarting refuses for a moment.
func dialOnce(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		var nerr net.Error
		if err != nil && errors.As(err, &nerr) && nerr.Timeout() && ctx.Err() == nil {
			return nil, dialTimeout{d.Timeout}
		}
		return conn, err
	}
}

// dialTimeout is a dial timeout that neither wraps a temporary error nor
// claims to be one, so nothing retries it.
type dialTimeout struct{ after time.Duration }

func (e dialTimeout) Error() string {
	return fmt.Sprintf("connect timed out after %s", e.after)
}

// Timeout reports true, for callers that ask.
func (dialTimeout) Timeout() bool { return true }

// Token asks the metadata server for an ID token and checks that the answer
// is shaped like a JWT before anyone sends it on.
func (m *MetadataSource) Token(ctx context.Context) (secret.String, error) {
	c := m.Client
	if c == nil {
		c = defaultClient
	}
	sa := m.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	q := url.Values{"audience": {m.Audience}, "format": {"full"}}
	path := "instance/service-accounts/" + url.PathEscape(sa) + "/identity?" + q.Encode()
	body, err := c.GetWithContext(ctx, path)
	if err != nil {
		return secret.String{}, explain(err, sa)
	}
	tok := secret.New(strings.TrimSpace(body))
	if _, err := Decode(tok); err != nil {
		return secret.String{}, fail.Errorf(err, "the metadata server at %s answered something that is not an ID token: %v", MetadataHost(), err).
			Hint("check that GCE_METADATA_HOST (if set) names a Google metadata server, host:port without a scheme")
	}
	return tok, nil
}

// explain turns an error the metadata package returned for account sa into
// a message that says which host was asked and what to do about it.
func explain(err error, sa string) error {
	host := MetadataHost()
	var notDefined metadata.NotDefinedError
	var merr *metadata.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fail.Errorf(err, "no answer from the metadata server at %s before the deadline", host).
			Hint(notOnGoogleCloud...).
			Hint("the whole run is bounded by --timeout (default 30s)")
	case errors.Is(err, context.Canceled):
		return fail.Errorf(err, "interrupted while waiting for the metadata server at %s", host)
	case errors.As(err, &notDefined):
		return fail.Errorf(err, "the metadata server at %s does not know service account %q (HTTP 404)", host, sa).
			Hint("--service-account takes \"default\" or the email of a service account attached to this VM, or bound to this pod's Kubernetes service account with Workload Identity",
				"list the accounts the metadata server knows: curl -H 'Metadata-Flavor: Google' 'http://"+host+"/computeMetadata/v1/instance/service-accounts/'")
	case errors.As(err, &merr):
		e := fail.Errorf(err, "the metadata server at %s answered HTTP %d: %s", host, merr.Code, excerpt(merr.Message))
		switch {
		case merr.Code == 403:
			e.Hint("the server refused a request that carried Metadata-Flavor: Google; a proxy or sidecar between this process and the metadata server may be blocking identity tokens")
		case merr.Code >= 500:
			e.Hint("the metadata server failed even after retries; try again, and on GKE check the gke-metadata-server pods in kube-system")
		}
		return e
	default:
		return fail.Errorf(err, "cannot reach the metadata server at %s: %s", host, fail.Cause(err)).
			Hint(notOnGoogleCloud...)
	}
}

var notOnGoogleCloud = []string{
	"gcp-aws-cred gets its identity from the metadata server of a Compute Engine VM, GKE pod (Workload Identity), Cloud Run service or Cloud Function; is this running on Google Cloud?",
	"to use another metadata server (an emulator, a test fake), set GCE_METADATA_HOST=host:port",
}

// excerpt makes a server's error body fit on one line of a message.
func excerpt(s string) string {
	if s = fail.Flatten(s, 200); s == "" {
		return "(empty body)"
	}
	return s
}

// Email asks the metadata server for the email of the service account, which
// also shows that the server is there and knows the account.
func (m *MetadataSource) Email(ctx context.Context) (string, error) {
	c := m.Client
	if c == nil {
		c = defaultClient
	}
	email, err := c.EmailWithContext(ctx, m.ServiceAccount)
	if err != nil {
		return "", explain(err, m.ServiceAccount)
	}
	return strings.TrimSpace(email), nil
}
