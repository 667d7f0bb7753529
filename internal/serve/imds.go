package serve

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The EC2 instance metadata protocol, version 2 only (see Config.IMDS).
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
)

// imds serves the role's name and hands out session tokens. A token is
// its end time and an HMAC of it under a key made at start: serve holds
// nothing per token, so no client asking in a loop grows its memory, and
// no token can be forged or stretched without the key.
type imds struct {
	role string // the name listed under security-credentials/
	key  [32]byte
}

func newIMDS(roleARN string) *imds {
	m := &imds{role: roleARN[strings.LastIndexByte(roleARN, '/')+1:]}
	if m.role == "" {
		m.role = "gcp-aws-cred"
	}
	_, _ = rand.Read(m.key[:]) // never fails: crypto/rand crashes the program instead
	return m
}

// issue returns a new session token living ttl.
func (m *imds) issue(ttl time.Duration) string {
	end := strconv.FormatInt(time.Now().Add(ttl).UnixMilli(), 10)
	return end + "." + m.sign(end)
}

func (m *imds) sign(end string) string {
	mac := hmac.New(sha256.New, m.key[:])
	mac.Write([]byte(end))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// valid reports whether tok is a session token handed out and not expired.
// hmac.Equal takes the same time whatever prefix of the signature matches.
func (m *imds) valid(tok string) bool {
	end, sig, _ := strings.Cut(tok, ".")
	ms, err := strconv.ParseInt(end, 10, 64)
	return err == nil && time.Now().UnixMilli() < ms && hmac.Equal([]byte(sig), []byte(m.sign(end)))
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
			return textResponse(http.StatusMethodNotAllowed, "Method Not Allowed\n").with("Allow", http.MethodPut)
		}
		ttl, err := strconv.Atoi(r.Header.Get(imdsTTLHeader))
		if err != nil || ttl < 1 || ttl > imdsMaxTTL {
			return textResponse(http.StatusBadRequest, "Bad Request: "+imdsTTLHeader+" must be from 1 to 21600\n")
		}
		return textResponse(http.StatusOK, m.issue(time.Duration(ttl)*time.Second)).with(imdsTTLHeader, strconv.Itoa(ttl))
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return textResponse(http.StatusMethodNotAllowed, "Method Not Allowed\n").with("Allow", "GET, HEAD")
	}
	if !m.valid(r.Header.Get(imdsTokHeader)) {
		// IMDSv2 only: no session token, no answer.
		return textResponse(http.StatusUnauthorized, "Unauthorized\n")
	}
	// A client with a session token is no stranger: the cap must not close
	// it while it waits for a refresh.
	s.strangers.keep(r.Context())
	switch name, ok := strings.CutPrefix(r.URL.Path, imdsCredsPath); {
	case ok && name == "":
		return textResponse(http.StatusOK, m.role)
	case !ok || name != m.role:
		return textResponse(http.StatusNotFound, "Not Found\n")
	}
	return s.served(r, func(h *held) []byte {
		b, _ := json.Marshal(imdsDocument{
			Code:            "Success",
			LastUpdated:     stamp(h.plan.got),
			Type:            "AWS-HMAC",
			AccessKeyID:     h.creds.AccessKeyID,
			SecretAccessKey: h.creds.SecretAccessKey.Reveal(),
			Token:           h.creds.SessionToken.Reveal(),
			Expiration:      stamp(h.creds.Expiration),
		})
		return b
	})
}

// textResponse is an IMDS answer: plain text, as EC2's.
func textResponse(status int, body string) response {
	return response{status: status, body: []byte(body)}.with("Content-Type", "text/plain")
}
