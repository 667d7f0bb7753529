// Package fakes holds the loopback stand-ins for Google's metadata server and
// AWS STS that the tests, the local demo and the benchmark run against.
//
// They are meant to fail the way the real services fail, because the
// failures are what gcp-aws-cred has to explain: the metadata fake insists on
// Metadata-Flavor: Google and answers 400/404 like the real one; the STS fake
// speaks the Query/XML protocol, verifies the RS256 signature of the token
// against the metadata fake's key, and evaluates a Google trust policy on
// the accounts.google.com:aud/oaud/sub keys, so an AccessDenied happens for
// the same reasons it does at AWS.
package fakes

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Default identity of the fake workload.
const (
	DefaultEmail    = "workload@demo-project.iam.gserviceaccount.com"
	DefaultUniqueID = "104729387361234567890"
	DefaultKeyID    = "fake-key-1"
)

// ServiceAccount is an account attached to the fake workload.
type ServiceAccount struct {
	Email    string
	UniqueID string // numeric unique ID: azp and sub of its tokens
}

// Metadata is a fake metadata server. Set fields before serving; the Fail*
// and Answer fields may be changed while it serves, under mu via the setters.
type Metadata struct {
	// Key signs the tokens; NewMetadata generates one.
	Key *rsa.PrivateKey
	// Accounts by alias or email; "default" must be present to serve it.
	Accounts map[string]ServiceAccount
	// Instance, when set, is put in the google.compute_engine claim as a
	// Compute Engine VM would; leave nil to act like GKE or Cloud Run.
	Instance map[string]any
	// Lifetime of the tokens it mints (the real server: one hour).
	Lifetime time.Duration
	// Now is the clock, for tests that want old or future tokens.
	Now func() time.Time

	mu       sync.Mutex
	failures []int  // status codes to answer before the next good answer
	answer   string // if set, answered instead of a token
	delay    time.Duration
	requests int
	skew     time.Duration
	minted   []string
}

// Skew moves the clock the tokens are stamped with, to make tokens that are
// already expired or not yet valid.
func (m *Metadata) Skew(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.skew = d
}

// Minted returns every token handed out, so tests can check that none of
// them leaks into a message.
func (m *Metadata) Minted() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.minted...)
}

// NewMetadata returns a fake with a fresh 2048-bit key and one default
// account, as a VM with one attached service account has.
func NewMetadata() (*Metadata, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	sa := ServiceAccount{Email: DefaultEmail, UniqueID: DefaultUniqueID}
	return &Metadata{
		Key:      key,
		Accounts: map[string]ServiceAccount{"default": sa, sa.Email: sa},
		Lifetime: time.Hour,
		Now:      time.Now,
	}, nil
}

// FailNext makes the next len(codes) identity requests answer those HTTP
// status codes, the way a metadata server under maintenance does.
func (m *Metadata) FailNext(codes ...int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failures = append(m.failures, codes...)
}

// AnswerWith makes identity requests answer body with 200 instead of a token
// (a captive portal, or a host that is not a metadata server). Empty resets.
func (m *Metadata) AnswerWith(body string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.answer = body
}

// Delay holds every answer back by d, to exercise deadlines.
func (m *Metadata) Delay(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delay = d
}

// Requests counts identity requests served, failed ones included.
func (m *Metadata) Requests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests
}

const saPrefix = "/computeMetadata/v1/instance/service-accounts/"

// ServeHTTP implements the subset of the metadata server gcp-aws-cred uses.
func (m *Metadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Metadata-Flavor", "Google")
	if r.Header.Get("Metadata-Flavor") != "Google" {
		http.Error(w, "Missing required header: Metadata-Flavor", http.StatusForbidden)
		return
	}
	if r.URL.Path == "/" || r.URL.Path == "/computeMetadata/v1/" {
		w.Header().Set("Content-Type", "application/text")
		fmt.Fprint(w, "instance/\nproject/\n")
		return
	}
	if !strings.HasPrefix(r.URL.Path, saPrefix) {
		http.NotFound(w, r)
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, saPrefix)
	if rest == "" {
		seen := map[string]bool{}
		for name := range m.Accounts {
			if !seen[name] {
				seen[name] = true
				fmt.Fprintf(w, "%s/\n", name)
			}
		}
		return
	}
	name, what, _ := strings.Cut(rest, "/")
	sa, ok := m.Accounts[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch what {
	case "email":
		fmt.Fprint(w, sa.Email)
	case "identity":
		m.serveIdentity(w, r, sa)
	default:
		http.NotFound(w, r)
	}
}

func (m *Metadata) serveIdentity(w http.ResponseWriter, r *http.Request, sa ServiceAccount) {
	m.mu.Lock()
	m.requests++
	delay := m.delay
	var code int
	if len(m.failures) > 0 {
		code, m.failures = m.failures[0], m.failures[1:]
	}
	answer := m.answer
	m.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if code != 0 {
		http.Error(w, http.StatusText(code), code)
		return
	}
	if answer != "" {
		fmt.Fprint(w, answer)
		return
	}
	aud := r.URL.Query().Get("audience")
	if aud == "" {
		http.Error(w, "non-empty audience parameter required", http.StatusBadRequest)
		return
	}
	full := r.URL.Query().Get("format") == "full"
	tok, err := m.Mint(sa, aud, full)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	m.mu.Lock()
	m.minted = append(m.minted, tok)
	m.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8") // what the real server sends
	fmt.Fprint(w, tok)
}

// Mint signs an ID token for sa with audience aud, shaped as the metadata
// server shapes them: iss accounts.google.com, azp and sub the unique ID, and
// with full, the email and the compute_engine block.
func (m *Metadata) Mint(sa ServiceAccount, aud string, full bool) (string, error) {
	m.mu.Lock()
	now := m.Now().Add(m.skew)
	m.mu.Unlock()
	claims := map[string]any{
		"iss": "https://accounts.google.com",
		"aud": aud,
		"azp": sa.UniqueID,
		"sub": sa.UniqueID,
		"iat": now.Unix(),
		"exp": now.Add(m.Lifetime).Unix(),
	}
	if full {
		claims["email"] = sa.Email
		claims["email_verified"] = true
		if m.Instance != nil {
			claims["google"] = map[string]any{"compute_engine": m.Instance}
		}
	}
	return SignRS256(m.Key, DefaultKeyID, claims)
}

// SignRS256 builds a compact JWS of claims.
func SignRS256(key *rsa.PrivateKey, kid string, claims any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "kid": kid, "typ": "JWT"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + enc.EncodeToString(sig), nil
}
