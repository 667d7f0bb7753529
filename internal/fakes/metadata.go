// Package fakes holds the loopback stand-ins for Google's metadata server and
// AWS STS that the tests, the local demo and the benchmark run against.
//
// They are meant to fail the way the real services fail, because the
// failures are what gcp-aws-cred has to explain: the metadata fake insists on
// Metadata-Flavor: Google and answers 400/404 like the real one, and acts as
// the metadata server of a Compute Engine VM, a GKE pod or a Cloud Run
// service with the differences between them (ActAs); the STS fake speaks the
// Query/XML protocol, verifies the RS256 signature of the token against the
// metadata fake's key, and evaluates a Google trust policy on the
// accounts.google.com:aud/oaud/sub keys, so an AccessDenied happens for the
// same reasons it does at AWS.
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
	// DefaultInstanceName is the VM name in the compute_engine claim that
	// ActAs(ComputeEngine) puts in full-format tokens.
	DefaultInstanceName = "demo-vm"
)

// DefaultInstance returns the google.compute_engine claim of the fake VM, as
// a Compute Engine metadata server puts it in a format=full token.
func DefaultInstance() map[string]any {
	return map[string]any{
		"instance_name":               DefaultInstanceName,
		"instance_id":                 "4711471147114711471",
		"zone":                        "asia-northeast1-b",
		"project_id":                  "demo-project",
		"project_number":              123456789012,
		"instance_creation_timestamp": 1767225600, // 2026-01-01T00:00:00Z
	}
}

// Platform is the kind of Google Cloud workload whose metadata server the
// fake stands for. They serve the same identity path but differ in what the
// tokens carry and in how they fail, and gcp-aws-cred must cope with each.
type Platform string

// The platforms ActAs knows.
const (
	// ComputeEngine: format=full tokens carry email and the
	// google.compute_engine claim (DefaultInstance).
	ComputeEngine Platform = "gce"
	// GKE with Workload Identity: no compute_engine claim, and identity
	// requests with format=full answered 400 (GKEFullFormatError), as some
	// GKE versions are reported to do. Its error bodies and Server header
	// are GKE's. (That the pod's metadata server refuses connections for
	// its first seconds is a property of the listener: see
	// Options.RefuseMetadataFor and Servers.RefuseMetadataFor.)
	GKE Platform = "gke"
	// CloudRun, and Cloud Functions, which run on it: email in format=full
	// tokens, no compute_engine claim, so no instance name anywhere.
	CloudRun Platform = "cloudrun"
)

// Platforms lists the platforms in the order a help text shows them.
var Platforms = []Platform{ComputeEngine, GKE, CloudRun}

// GKEFullFormatError is the body the GKE fake answers a format=full identity
// request with, status 400. The prefix and the plain-text form are what the
// GKE metadata server uses for its errors (seen in published curl traces of
// its 403); the words after it are ours, since the real text for this case
// is not published. Nothing should depend on them, only on the status.
const GKEFullFormatError = "GKE Metadata Server encountered an error: format=full is not supported by this metadata server"

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
	// While serving, change it with ActAs or SetInstance, which lock.
	Instance map[string]any
	// Lifetime of the tokens it mints (the real server: one hour).
	Lifetime time.Duration
	// Now is the clock, for tests that want old or future tokens.
	Now func() time.Time
	// AccessToken, when set, issues the OAuth 2.0 access tokens that the
	// .../token path answers, for the member given (serviceAccount:EMAIL):
	// Servers wires it to the Google fake, which then accepts them.
	AccessToken func(member string) string

	mu         sync.Mutex
	failures   []int  // status codes to answer before the next good answer
	answer     string // if set, answered instead of a token
	delay      time.Duration
	requests   int
	skew       time.Duration
	minted     []string
	platform   Platform
	noFlavor   bool
	formats    []string // the format parameter of each identity request
	rejectFull bool
}

// ActAs makes the server answer as the metadata server of platform p does
// (see the Platform constants): ComputeEngine sets Instance to
// DefaultInstance unless one is set, GKE and CloudRun clear it.
func (m *Metadata) ActAs(p Platform) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.platform = p
	m.rejectFull = p == GKE
	switch {
	case p != ComputeEngine:
		m.Instance = nil
	case m.Instance == nil:
		m.Instance = DefaultInstance()
	}
}

// SetInstance sets Instance while the server may be serving.
func (m *Metadata) SetInstance(claim map[string]any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Instance = claim
}

// OmitFlavorHeader leaves Metadata-Flavor: Google out of every response, as
// older GKE metadata servers did on some of them. Requests must still carry
// it.
func (m *Metadata) OmitFlavorHeader(omit bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.noFlavor = omit
}

// Formats returns the format parameter of every identity request so far,
// "" where there was none, so a test can see that a client retried without
// format=full.
func (m *Metadata) Formats() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.formats...)
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
	m.mu.Lock()
	platform, noFlavor := m.platform, m.noFlavor
	m.mu.Unlock()
	if !noFlavor {
		w.Header().Set("Metadata-Flavor", "Google")
	}
	if platform == GKE {
		w.Header().Set("Server", "GKE Metadata Server")
	}
	if r.Header.Get("Metadata-Flavor") != "Google" {
		if platform == GKE {
			m.fail(w, http.StatusForbidden, `Missing required header "Metadata-Flavor": "Google"`)
			return
		}
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
	case "token":
		if m.AccessToken == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": m.AccessToken("serviceAccount:" + sa.Email), "expires_in": 3599, "token_type": "Bearer"})
	default:
		http.NotFound(w, r)
	}
}

// fail answers an error in the platform's words: GKE prefixes its own.
func (m *Metadata) fail(w http.ResponseWriter, code int, msg string) {
	m.mu.Lock()
	gke := m.platform == GKE
	m.mu.Unlock()
	if gke {
		msg = "GKE Metadata Server encountered an error: " + msg
	}
	http.Error(w, msg, code)
}

func (m *Metadata) serveIdentity(w http.ResponseWriter, r *http.Request, sa ServiceAccount) {
	format := r.URL.Query().Get("format")
	m.mu.Lock()
	m.requests++
	m.formats = append(m.formats, format)
	delay := m.delay
	var code int
	if len(m.failures) > 0 {
		code, m.failures = m.failures[0], m.failures[1:]
	}
	answer, rejectFull := m.answer, m.rejectFull
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
		m.fail(w, http.StatusBadRequest, "non-empty audience parameter required")
		return
	}
	full := format == "full"
	if full && rejectFull {
		http.Error(w, GKEFullFormatError, http.StatusBadRequest)
		return
	}
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
	instance := m.Instance
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
		if instance != nil {
			claims["google"] = map[string]any{"compute_engine": instance}
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
