package fakes

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Trust is a Google web-identity trust policy reduced to what matters: the
// StringEquals values for accounts.google.com:aud (the token's azp),
// accounts.google.com:oaud (its aud) and accounts.google.com:sub. An empty
// field is not checked, as a policy without that condition does not.
type Trust struct {
	Aud, Oaud, Sub string
}

// Role is a role the fake STS knows.
type Role struct {
	// MaxSessionDuration is the role's limit (AWS: 1 h to 12 h).
	MaxSessionDuration time.Duration
	// Trust, when nil, trusts any valid Google token.
	Trust *Trust
	// AssumedBy lists the role ARNs whose sessions may assume this role with
	// AssumeRole (a trust policy's {"AWS": ARN} principals); empty admits
	// none, unless Roles is nil, when every role's session may.
	AssumedBy []string
	// ExternalID, when set, is the sts:ExternalId condition AssumeRole must
	// meet.
	ExternalID string
}

// Received is one request as the fake STS parsed it.
type Received struct {
	Form          url.Values
	Authorization string // must stay empty: the call is unsigned
	ContentType   string
}

// STS is a fake AWS STS serving AssumeRoleWithWebIdentity over the Query
// protocol, and GetCallerIdentity for the keys it issued, so the AWS CLI's
// own `aws sts get-caller-identity` works against it: that request must be
// signed (SigV4) with a secret key and session token this fake handed out
// and that have not expired, so a key mangled on its way to the client is
// caught. Configure before serving; use the methods to inject faults while
// serving.
type STS struct {
	// Key verifies token signatures; nil skips the check (as moto does).
	Key *rsa.PublicKey
	// Roles by ARN; nil trusts every well-formed role ARN with a 12 h limit.
	Roles map[string]Role
	// Now is the clock.
	Now func() time.Time

	mu       sync.Mutex
	faults   []Fault
	received []Received
	delay    time.Duration
	lifetime time.Duration
	issued   []string
	sessions map[string]issuedKeys // by access key ID
}

// issuedKeys are keys the fake issued, for GetCallerIdentity.
type issuedKeys struct {
	secret, token string
	arn, userID   string
	account       string
	expires       time.Time
}

// Delay holds every answer back by d, to exercise deadlines.
func (s *STS) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Lifetime makes the fake issue credentials that expire d after the call,
// whatever DurationSeconds asked for; zero goes back to honouring it. Real
// STS never issues less than 15 minutes, but a test of refreshing needs
// credentials that expire in seconds.
func (s *STS) Lifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// Issued returns every secret key and session token handed out, so tests can
// check that none of them leaks into a message.
func (s *STS) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// Fault is an answer the fake gives instead of serving the request.
type Fault struct {
	Status  int    // HTTP status
	Code    string // STS error code; empty with Body set sends Body as is
	Message string
	Body    string
	// Location, when set, is sent as the Location header (for redirects).
	Location string
}

// Common faults.
var (
	Throttled      = Fault{Status: 400, Code: "Throttling", Message: "Rate exceeded"}
	IDPUnreachable = Fault{Status: 400, Code: "IDPCommunicationError", Message: "Couldn't retrieve verification key from your identity provider"}
	IDPKeyMissing  = Fault{Status: 400, Code: "InvalidIdentityToken", Message: "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"}
	Unavailable    = Fault{Status: 503, Code: "ServiceUnavailable", Message: "Service is unavailable"}
	CaptivePortal  = Fault{Status: 200, Body: "<!DOCTYPE html><html><head><title>Sign in to Wi-Fi</title></head><body>Please log in</body></html>"}
	RegionDisabled = Fault{Status: 403, Code: "RegionDisabledException", Message: "STS is not activated in this region for account:123456789012. Your account administrator can activate STS in this region using the IAM Console."}
)

// NewSTS returns a fake that verifies tokens against key (nil: no check).
func NewSTS(key *rsa.PublicKey) *STS {
	return &STS{Key: key, Now: time.Now}
}

// FailNext queues faults to answer before serving normally again.
func (s *STS) FailNext(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// Received returns the requests served so far.
func (s *STS) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

var (
	roleARN     = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]+)$`)
	sessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

// notSTS answers what is not an STS call at all: another AWS service sent
// here by AWS_ENDPOINT_URL.
var notSTS = Fault{Status: 400, Code: "InvalidAction", Message: "this is a fake STS: it answers only the STS actions AssumeRoleWithWebIdentity and GetCallerIdentity; " +
	"send other AWS services elsewhere (for example a moto server)"}

// ServeHTTP answers one Query-protocol call.
func (s *STS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.fail(w, notSTS)
		return
	}
	// The body is kept for GetCallerIdentity's signature check.
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.fail(w, Fault{Status: 400, Code: "MalformedQueryString", Message: err.Error()})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := r.ParseForm(); err != nil {
		s.fail(w, Fault{Status: 400, Code: "MalformedQueryString", Message: err.Error()})
		return
	}
	s.mu.Lock()
	s.received = append(s.received, Received{Form: r.PostForm, Authorization: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type")})
	var fault *Fault
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		fault = &f
	}
	delay, lifetime := s.delay, s.lifetime
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if fault != nil {
		// {token} in a fault's message echoes the token, as a careless
		// server might, to test that it is never shown.
		fault.Message = strings.ReplaceAll(fault.Message, "{token}", r.PostForm.Get("WebIdentityToken"))
		s.fail(w, *fault)
		return
	}
	f := r.PostForm
	switch a := f.Get("Action"); a {
	case "AssumeRoleWithWebIdentity":
	case "AssumeRole":
		s.assumeRole(w, r, body)
		return
	case "GetCallerIdentity":
		s.callerIdentity(w, r, body)
		return
	case "":
		s.fail(w, notSTS)
		return
	default:
		s.fail(w, Fault{Status: 400, Code: "InvalidAction", Message: fmt.Sprintf("Could not find operation %s for version %s", a, f.Get("Version"))})
		return
	}
	if f.Get("Version") != "2011-06-15" {
		s.fail(w, Fault{Status: 400, Code: "InvalidAction", Message: "Unsupported version " + f.Get("Version")})
		return
	}
	if fault := s.validate(f); fault != nil {
		s.fail(w, *fault)
		return
	}
	m := roleARN.FindStringSubmatch(f.Get("RoleArn"))
	partition, account, roleName := m[1], m[2], m[3]
	role := Role{MaxSessionDuration: 12 * time.Hour}
	if s.Roles != nil {
		var ok bool
		if role, ok = s.Roles[f.Get("RoleArn")]; !ok {
			s.fail(w, accessDenied)
			return
		}
	}
	duration := time.Hour
	if d := f.Get("DurationSeconds"); d != "" {
		n, _ := strconv.Atoi(d)
		duration = time.Duration(n) * time.Second
	}
	if duration > role.MaxSessionDuration {
		s.fail(w, Fault{Status: 400, Code: "ValidationError", Message: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."})
		return
	}
	claims, fault := s.verify(f.Get("WebIdentityToken"))
	if fault != nil {
		s.fail(w, *fault)
		return
	}
	if t := role.Trust; t != nil {
		if (t.Aud != "" && t.Aud != claims.azp()) || (t.Oaud != "" && t.Oaud != claims.Aud) || (t.Sub != "" && t.Sub != claims.Sub) {
			s.fail(w, accessDenied)
			return
		}
	}
	session := f.Get("RoleSessionName")
	if lifetime > 0 {
		duration = lifetime
	}
	s.success(w, partition, account, roleName, session, claims, duration)
}

var accessDenied = Fault{Status: 403, Code: "AccessDenied", Message: "Not authorized to perform sts:AssumeRoleWithWebIdentity"}

// validate applies the API's documented parameter constraints, with the
// messages STS gives for them.
func (s *STS) validate(f url.Values) *Fault {
	bad := func(msg string) *Fault { return &Fault{Status: 400, Code: "ValidationError", Message: msg} }
	arn := f.Get("RoleArn")
	switch {
	case arn == "":
		return bad("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	case len(arn) < 20 || len(arn) > 2048 || !roleARN.MatchString(arn):
		return bad("Request ARN is invalid")
	case !sessionName.MatchString(f.Get("RoleSessionName")):
		return bad("1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
	case len(f.Get("WebIdentityToken")) < 4 || len(f.Get("WebIdentityToken")) > 20000:
		return bad("1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length between 4 and 20000")
	case len(f.Get("Policy")) > 2048:
		return bad("1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048")
	}
	if p := f.Get("Policy"); p != "" && !json.Valid([]byte(p)) {
		return &Fault{Status: 400, Code: "MalformedPolicyDocument", Message: "The policy is not in the valid JSON format."}
	}
	if d := f.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 {
			return bad("1 validation error detected: Value '" + d + "' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200")
		}
	}
	if f.Get("ProviderId") != "" {
		return bad("ProviderId is only for OAuth 2.0 access tokens")
	}
	return nil
}

type stsClaims struct {
	Iss string `json:"iss"`
	Aud string `json:"aud"`
	Azp string `json:"azp"`
	Sub string `json:"sub"`
	Exp int64  `json:"exp"`
	Iat int64  `json:"iat"`
}

func (c stsClaims) azp() string {
	if c.Azp != "" {
		return c.Azp
	}
	return c.Aud
}

// verify checks the token as STS does for accounts.google.com: compact JWS,
// RS256 signature, Google issuer, not expired.
func (s *STS) verify(tok string) (stsClaims, *Fault) {
	invalid := func(msg string) *Fault {
		return &Fault{Status: 400, Code: "InvalidIdentityToken", Message: msg}
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return stsClaims{}, invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c stsClaims
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return stsClaims{}, invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
	}
	if s.Key != nil {
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err != nil || rsa.VerifyPKCS1v15(s.Key, crypto.SHA256, sum[:], sig) != nil {
			return stsClaims{}, invalid("Token signature verification failed")
		}
	}
	if c.Iss != "https://accounts.google.com" && c.Iss != "accounts.google.com" {
		return stsClaims{}, invalid("No OpenIDConnect provider found in your account for " + c.Iss)
	}
	if now := s.Now(); c.Exp != 0 && now.Unix() >= c.Exp {
		return stsClaims{}, &Fault{Status: 400, Code: "ExpiredTokenException", Message: "Token expired: current date/time " + now.UTC().Format(time.RFC3339) + " must be before the expiration date/time"}
	}
	return c, nil
}

// Faults GetCallerIdentity answers, in STS's words.
var (
	missingAuth      = Fault{Status: 403, Code: "MissingAuthenticationToken", Message: "Request is missing Authentication Token"}
	badSignatureForm = Fault{Status: 400, Code: "IncompleteSignature", Message: "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters."}
	unknownKey       = Fault{Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}
	expiredKey       = Fault{Status: 403, Code: "ExpiredToken", Message: "The security token included in the request is expired"}
	badSignature     = Fault{Status: 403, Code: "SignatureDoesNotMatch", Message: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
)

// signedSession checks that r is SigV4-signed with keys this fake issued
// and that are still valid, and returns their session; otherwise it answers
// STS's error and returns false.
func (s *STS) signedSession(w http.ResponseWriter, r *http.Request, body []byte) (issuedKeys, sigV4, bool) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		s.fail(w, missingAuth)
		return issuedKeys{}, sigV4{}, false
	}
	sig, ok := parseSigV4(auth)
	if !ok {
		s.fail(w, badSignatureForm)
		return issuedKeys{}, sigV4{}, false
	}
	s.mu.Lock()
	sess, known := s.sessions[sig.accessKey]
	s.mu.Unlock()
	switch {
	case !known || r.Header.Get("X-Amz-Security-Token") != sess.token:
		s.fail(w, unknownKey)
	case !s.Now().Before(sess.expires):
		s.fail(w, expiredKey)
	case !sig.verify(r, body, sess.secret):
		s.fail(w, badSignature)
	default:
		return sess, sig, true
	}
	return issuedKeys{}, sigV4{}, false
}

// callerIdentity answers GetCallerIdentity for a request signed with keys
// this fake issued.
func (s *STS) callerIdentity(w http.ResponseWriter, r *http.Request, body []byte) {
	sess, _, ok := s.signedSession(w, r, body)
	if !ok {
		return
	}
	res := callerIdentityResponse{Xmlns: stsXmlns, RequestID: newRequestID()}
	res.Result.Arn, res.Result.UserID, res.Result.Account = sess.arn, sess.userID, sess.account
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", res.RequestID)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(res)
}

const stsXmlns = "https://sts.amazonaws.com/doc/2011-06-15/"

type callerIdentityResponse struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		Arn     string
		UserID  string `xml:"UserId"`
		Account string
	} `xml:"GetCallerIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

func (s *STS) success(w http.ResponseWriter, partition, account, roleName, session string, c stsClaims, d time.Duration) {
	roleID := "AROA" + strings.ToUpper(randHex(8))
	expires := s.Now().Add(d).UTC().Truncate(time.Second)
	res := assumeResponse{
		Xmlns: stsXmlns,
		Result: assumeResult{
			SubjectFromWebIdentityToken: c.Sub,
			Audience:                    c.azp(),
			Provider:                    "accounts.google.com",
			AssumedRoleUser: assumedRoleUser{
				Arn:           fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", partition, account, roleName, session),
				AssumedRoleID: roleID + ":" + session,
			},
			Credentials: credentials{
				AccessKeyID:     "ASIA" + strings.ToUpper(randHex(8)),
				SecretAccessKey: base64.StdEncoding.EncodeToString(randBytes(30)),
				SessionToken:    "FwoGZXIvYXdzE" + base64.StdEncoding.EncodeToString(randBytes(300)),
				Expiration:      expires.Format(time.RFC3339),
			},
		},
		RequestID: newRequestID(),
	}
	cr := res.Result.Credentials
	s.mu.Lock()
	s.issued = append(s.issued, cr.SecretAccessKey, cr.SessionToken)
	if s.sessions == nil {
		s.sessions = map[string]issuedKeys{}
	}
	u := res.Result.AssumedRoleUser
	s.sessions[cr.AccessKeyID] = issuedKeys{secret: cr.SecretAccessKey, token: cr.SessionToken, arn: u.Arn, userID: u.AssumedRoleID, account: account, expires: expires}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", res.RequestID)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(res)
}

func (s *STS) fail(w http.ResponseWriter, f Fault) {
	id := newRequestID()
	w.Header().Set("x-amzn-RequestId", id)
	if f.Location != "" {
		w.Header().Set("Location", f.Location)
	}
	if f.Code == "" {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		fmt.Fprint(w, f.Body)
		return
	}
	typ := "Sender"
	if f.Status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(f.Status)
	_ = xml.NewEncoder(w).Encode(errorResponse{
		Xmlns: stsXmlns,
		Error: errorBody{Type: typ, Code: f.Code, Message: f.Message}, RequestID: id,
	})
}

type assumeResponse struct {
	XMLName   xml.Name     `xml:"AssumeRoleWithWebIdentityResponse"`
	Xmlns     string       `xml:"xmlns,attr"`
	Result    assumeResult `xml:"AssumeRoleWithWebIdentityResult"`
	RequestID string       `xml:"ResponseMetadata>RequestId"`
}

type assumeResult struct {
	SubjectFromWebIdentityToken string
	Audience                    string
	AssumedRoleUser             assumedRoleUser
	Credentials                 credentials
	Provider                    string
}

type assumedRoleUser struct {
	Arn           string
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type credentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

type errorResponse struct {
	XMLName   xml.Name  `xml:"ErrorResponse"`
	Xmlns     string    `xml:"xmlns,attr"`
	Error     errorBody `xml:"Error"`
	RequestID string    `xml:"RequestId"`
}

type errorBody struct {
	Type, Code, Message string
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func randHex(n int) string { return hex.EncodeToString(randBytes(n)) }

func newRequestID() string {
	h := randHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
