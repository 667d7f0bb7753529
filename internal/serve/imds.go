package serve

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The EC2 instance metadata protocol, version 2 only, for clients that read
// no other (--imds). It has no shared secret: any local process that can
// reach the port gets a session token for the asking, then the
// credentials. So it is off by default, and turning it on is logged as a
// warning.
const (
	// IMDSEndpointEnv is the variable the SDKs and the CLI read a
	// non-default metadata endpoint from.
	IMDSEndpointEnv = "AWS_EC2_METADATA_SERVICE_ENDPOINT"

	imdsTokenPath = "/latest/api/token"
	imdsCredsPath = "/latest/meta-data/iam/security-credentials/"
	imdsTTLHeader = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
	imdsTokHeader = "X-Aws-Ec2-Metadata-Token"
	// imdsMaxTTL is EC2's bound on a session token's lifetime: 6 hours.
	imdsMaxTTL = 21600
	// maxIMDSTokens bounds the session tokens held at once: a client takes
	// one per process (the SDKs cache theirs for its TTL), and a process
	// that asks in a loop must not grow serve's memory. At the bound the
	// token nearest its end is dropped; its holder gets 401 and, as the
	// SDKs do on 401, asks for a new one.
	maxIMDSTokens = 1024
)

// imds holds the session tokens handed out and the role name served.
type imds struct {
	role string // the name listed under security-credentials/

	mu     sync.Mutex
	tokens map[[sha256.Size]byte]time.Time // a token's hash → when it expires
}

func newIMDS(roleARN string) *imds {
	role := roleARN[strings.LastIndexByte(roleARN, '/')+1:]
	if role == "" {
		role = "gcp-aws-cred"
	}
	return &imds{role: role, tokens: map[[sha256.Size]byte]time.Time{}}
}

// issue returns a new session token living ttl.
func (m *imds) issue(ttl time.Duration) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails: crypto/rand crashes the program instead
	tok := base64.RawURLEncoding.EncodeToString(b)
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, end := range m.tokens {
		if !now.Before(end) {
			delete(m.tokens, k)
		}
	}
	if len(m.tokens) >= maxIMDSTokens {
		var first [sha256.Size]byte
		var at time.Time
		for k, end := range m.tokens {
			if at.IsZero() || end.Before(at) {
				first, at = k, end
			}
		}
		delete(m.tokens, first)
	}
	m.tokens[sha256.Sum256([]byte(tok))] = now.Add(ttl)
	return tok
}

// valid reports whether tok is a session token handed out and not expired.
// Tokens are looked up by their hash, so the lookup's timing tells nothing
// of a token's prefix.
func (m *imds) valid(tok string) bool {
	if tok == "" {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	end, ok := m.tokens[sha256.Sum256([]byte(tok))]
	return ok && time.Now().Before(end)
}

// imdsDocument is EC2's credentials document. botocore reads AccessKeyId,
// SecretAccessKey, Token and Expiration; the Go SDK checks Code.
type imdsDocument struct {
	Code            string `json:"Code"`
	LastUpdated     string `json:"LastUpdated"`
	Type            string `json:"Type"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
}

// imdsAnswer answers a request under /latest/.
func (s *Server) imdsAnswer(r *http.Request) response {
	m := s.imds
	if len(r.Header.Values("X-Forwarded-For")) > 0 {
		// As EC2 does: a proxied request is someone else's.
		return textResponse(http.StatusForbidden, "Forbidden: requests with X-Forwarded-For are refused\n")
	}
	if r.URL.Path == imdsTokenPath {
		if r.Method != http.MethodPut {
			resp := textResponse(http.StatusMethodNotAllowed, "Method Not Allowed\n")
			resp.allow = http.MethodPut
			return resp
		}
		ttl, err := strconv.Atoi(r.Header.Get(imdsTTLHeader))
		if err != nil || ttl < 1 || ttl > imdsMaxTTL {
			return textResponse(http.StatusBadRequest, "Bad Request: "+imdsTTLHeader+" must be from 1 to 21600\n")
		}
		resp := textResponse(http.StatusOK, m.issue(time.Duration(ttl)*time.Second))
		resp.ttl = strconv.Itoa(ttl)
		return resp
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		resp := textResponse(http.StatusMethodNotAllowed, "Method Not Allowed\n")
		resp.allow = "GET, HEAD"
		return resp
	}
	if !m.valid(r.Header.Get(imdsTokHeader)) {
		// IMDSv2 only: no session token, no answer.
		return textResponse(http.StatusUnauthorized, "Unauthorized\n")
	}
	// A client with a session token is no stranger: the cap must not close
	// it while it waits for a refresh.
	s.strangers.keep(r.Context())
	name, ok := strings.CutPrefix(r.URL.Path, imdsCredsPath)
	switch {
	case !ok:
		return textResponse(http.StatusNotFound, "Not Found\n")
	case name == "":
		return textResponse(http.StatusOK, m.role)
	case name != m.role:
		return textResponse(http.StatusNotFound, "Not Found\n")
	}
	h, failed := s.served(r)
	if failed != nil {
		return *failed
	}
	b, _ := json.Marshal(imdsDocument{
		Code:            "Success",
		LastUpdated:     stamp(h.plan.got),
		Type:            "AWS-HMAC",
		AccessKeyID:     h.creds.AccessKeyID,
		SecretAccessKey: h.creds.SecretAccessKey.Reveal(),
		Token:           h.creds.SessionToken.Reveal(),
		Expiration:      stamp(h.creds.Expiration),
	})
	return response{status: http.StatusOK, body: b}
}

// textResponse is an IMDS answer: plain text, as EC2's.
func textResponse(status int, body string) response {
	return response{status: status, ctype: "text/plain", body: []byte(body)}
}
