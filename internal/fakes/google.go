package fakes

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The identities the Google fake knows from the start.
const (
	// TargetEmail is the service account that gcp-aws-cred impersonates in
	// tests and in the sandbox. Its ID tokens carry TargetUniqueID as azp
	// and sub, like a metadata token of DefaultEmail carries
	// DefaultUniqueID.
	TargetEmail    = "aws-target@demo-project.iam.gserviceaccount.com"
	TargetUniqueID = "108765432109876543210"
	// DelegateEmail is a service account that may act as TargetEmail, for
	// delegation chains.
	DelegateEmail    = "delegate@demo-project.iam.gserviceaccount.com"
	DelegateUniqueID = "109999988887777766666"
	// KeyEmail is the service account whose key the service_account ADC
	// file holds.
	KeyEmail = "ci-key@demo-project.iam.gserviceaccount.com"
	// UserEmail is the person behind the authorized_user ADC file.
	UserEmail = "alice@example.com"
	// PoolAudience is the workload identity provider of the
	// external_account ADC file, and PoolMember the IAM member that stands
	// for every identity of its pool.
	PoolAudience = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/ci-pool/providers/github"
	PoolMember   = "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/ci-pool/*"
	// SubjectToken is the token the external_account file's source holds,
	// as a CI system would write it; the fake exchanges it for SubjectMember.
	SubjectToken  = "ci-subject-token-of-the-test-run"
	SubjectMember = "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/ci-pool/subject/repo:demo/app"
	// RefreshToken is the authorized_user file's refresh token.
	RefreshToken = "1//fake-refresh-token-of-alice"
	// WorkforceRefreshToken is the external_account_authorized_user file's
	// refresh token (a workforce identity federation login from gcloud),
	// and WorkforceMember the IAM member it stands for.
	WorkforceRefreshToken = "1//fake-workforce-refresh-token-of-bob"
	WorkforceMember       = "principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/bob@example.com"
)

// IAM roles the fake checks, as Google names them.
const (
	RoleOpenIDTokenCreator = "roles/iam.serviceAccountOpenIdTokenCreator"
	RoleTokenCreator       = "roles/iam.serviceAccountTokenCreator"
)

// Google is a fake of the three Google endpoints impersonation uses: the
// OAuth 2.0 token endpoint (/token: refresh_token and JWT-bearer grants),
// the Security Token Service exchange that Workload Identity Federation
// uses (/sts: token-exchange grant), and the IAM Credentials API
// (/v1/projects/-/serviceAccounts/EMAIL:generateIdToken and
// :generateAccessToken). ID tokens are signed with Key, the metadata fake's
// key that the STS fake trusts, so they pass at STS as Google's do at AWS.
//
// Access tokens it issues stand for an IAM member (user:…,
// serviceAccount:…, principal://…), and generateIdToken checks that member's
// bindings on the target as IAM does: roles/iam.serviceAccountOpenIdTokenCreator
// or roles/iam.serviceAccountTokenCreator on the target, and with
// delegates, roles/iam.serviceAccountTokenCreator of each link on the next.
type Google struct {
	// Key signs ID tokens.
	Key *rsa.PrivateKey
	// URL is where it serves, set by StartGoogle; the ADC files point here.
	URL string

	mu        sync.Mutex
	accounts  map[string]string              // email → unique ID
	bindings  map[string]map[string][]string // target email → member → roles
	keys      map[string]*rsa.PublicKey      // client_email → key of its ADC file
	refresh   map[string]string              // refresh token → member
	subjects  map[string]string              // subject token → member
	access    map[string]string              // access token → member
	failures  []GoogleFault
	idTokens  int
	minted    []string // ID tokens
	expired   bool     // refresh tokens answer invalid_grant
	rapt      bool     // refresh tokens answer invalid_grant/invalid_rapt
	lastBody  map[string]any
	saKey     *rsa.PrivateKey // KeyEmail's, see serviceAccountKey
	endpoints *endpoint
}

// GoogleFault is an answer the IAM Credentials fake gives instead of the
// next one.
type GoogleFault struct {
	Status  int
	Message string
	// Body, when set, is sent as is.
	Body string
}

// NewGoogle returns a fake whose ID tokens are signed with key. It knows
// TargetEmail and DelegateEmail, grants the token creator roles that make
// every ADC file of ADCFile work on TargetEmail, and generates the key of
// the service_account file.
func NewGoogle(key *rsa.PrivateKey) (*Google, error) {
	g := &Google{
		Key:      key,
		accounts: map[string]string{TargetEmail: TargetUniqueID, DelegateEmail: DelegateUniqueID, DefaultEmail: DefaultUniqueID, KeyEmail: "110000000000000000001"},
		bindings: map[string]map[string][]string{},
		keys:     map[string]*rsa.PublicKey{},
		refresh:  map[string]string{RefreshToken: "user:" + UserEmail, WorkforceRefreshToken: WorkforceMember},
		subjects: map[string]string{SubjectToken: SubjectMember},
		access:   map[string]string{},
	}
	for _, m := range []string{"user:" + UserEmail, "serviceAccount:" + KeyEmail, PoolMember, WorkforceMember, "serviceAccount:" + DefaultEmail, "serviceAccount:" + DelegateEmail} {
		g.Grant(TargetEmail, m, RoleOpenIDTokenCreator)
	}
	// The impersonated_service_account file acts as DelegateEmail on
	// behalf of the user.
	g.Grant(DelegateEmail, "user:"+UserEmail, RoleTokenCreator)
	return g, nil
}

// StartGoogle serves a NewGoogle fake on a free loopback port until Close.
func StartGoogle(key *rsa.PrivateKey) (*Google, error) {
	g, err := NewGoogle(key)
	if err != nil {
		return nil, err
	}
	if g.endpoints, err = listenAfter(g, 0); err != nil {
		return nil, err
	}
	g.URL = "http://" + g.endpoints.addr
	return g, nil
}

// Close stops serving.
func (g *Google) Close() {
	if g.endpoints != nil {
		g.endpoints.close()
	}
}

// Grant binds role on the service account target to member, as
// `gcloud iam service-accounts add-iam-policy-binding` does.
func (g *Google) Grant(target, member, role string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.bindings[target] == nil {
		g.bindings[target] = map[string][]string{}
	}
	g.bindings[target][member] = append(g.bindings[target][member], role)
}

// Revoke removes every role member holds on target.
func (g *Google) Revoke(target, member string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.bindings[target], member)
}

// ExpireLogin makes the refresh token answer invalid_grant, as an expired
// or revoked user login does; with rapt, the invalid_rapt subtype Google
// sends when the login needs re-authentication.
func (g *Google) ExpireLogin(rapt bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expired, g.rapt = true, rapt
}

// FailNext makes the IAM Credentials API answer these faults, one per
// request, before answering normally again.
func (g *Google) FailNext(f ...GoogleFault) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failures = append(g.failures, f...)
}

// IDTokens counts the ID tokens minted.
func (g *Google) IDTokens() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.idTokens
}

// Secrets lists every secret the fake handed out or put in an ADC file:
// access tokens, ID tokens, the refresh token, the client secret and the
// subject token, for tests that assert none is printed.
func (g *Google) Secrets() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := []string{RefreshToken, SubjectToken, "fake-client-secret", WorkforceRefreshToken, "fake-workforce-client-secret"}
	for tok := range g.access {
		s = append(s, tok)
	}
	return append(s, g.minted...)
}

// LastRequest is the JSON body of the last generateIdToken request.
func (g *Google) LastRequest() map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lastBody
}

// IssueAccessToken issues an access token for member, as the metadata
// server of a VM whose attached account is member would.
func (g *Google) IssueAccessToken(member string) string {
	tok := "ya29.fake-" + randHex(24)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.access[tok] = member
	return tok
}

// ADC kinds ADCFile writes.
const (
	AuthorizedUser             = "authorized_user"
	ServiceAccountKey          = "service_account"
	ExternalAccount            = "external_account"
	ImpersonatedServiceAccount = "impersonated_service_account"
	// ExternalAccountAuthorizedUser is gcloud's login with workforce
	// identity federation: a refresh token for Google's STS.
	ExternalAccountAuthorizedUser = "external_account_authorized_user"
)

// ADCKinds lists the kinds of ADCFile.
var ADCKinds = []string{AuthorizedUser, ServiceAccountKey, ExternalAccount, ImpersonatedServiceAccount, ExternalAccountAuthorizedUser}

// ADCFile is the JSON of an Application Default Credentials file of kind
// whose endpoints are this fake's. An external_account file reads its
// subject token from subjectFile, which the caller writes SubjectToken to.
func (g *Google) ADCFile(kind, subjectFile string) ([]byte, error) {
	user := map[string]any{
		"type":          AuthorizedUser,
		"client_id":     "764086051850-fake.apps.googleusercontent.com",
		"client_secret": "fake-client-secret",
		"refresh_token": RefreshToken,
		"token_uri":     g.URL + "/token",
	}
	var v map[string]any
	switch kind {
	case AuthorizedUser:
		v = user
	case ServiceAccountKey:
		key, err := g.serviceAccountKey()
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		v = map[string]any{
			"type":           ServiceAccountKey,
			"project_id":     "demo-project",
			"private_key_id": "fake-sa-key-1",
			"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
			"client_email":   KeyEmail,
			"client_id":      "110000000000000000001",
			"token_uri":      g.URL + "/token",
		}
	case ExternalAccount:
		v = map[string]any{
			"type":               ExternalAccount,
			"audience":           PoolAudience,
			"subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
			"token_url":          g.URL + "/sts",
			"credential_source":  map[string]any{"file": subjectFile},
		}
	case ExternalAccountAuthorizedUser:
		v = map[string]any{
			"type":          ExternalAccountAuthorizedUser,
			"audience":      "//iam.googleapis.com/locations/global/workforcePools/staff/providers/okta",
			"client_id":     "fake-workforce-client",
			"client_secret": "fake-workforce-client-secret",
			"refresh_token": WorkforceRefreshToken,
			"token_url":     g.URL + "/token",
		}
	case ImpersonatedServiceAccount:
		v = map[string]any{
			"type":                              ImpersonatedServiceAccount,
			"service_account_impersonation_url": g.URL + "/v1/projects/-/serviceAccounts/" + DelegateEmail + ":generateAccessToken",
			"delegates":                         []string{},
			"source_credentials":                user,
		}
	default:
		return nil, fmt.Errorf("no ADC file of kind %q", kind)
	}
	return json.MarshalIndent(v, "", "  ")
}

// serviceAccountKey is KeyEmail's key, made on first use: generating an
// RSA key takes tens of milliseconds, and most tests that start the fakes
// never write a service_account file.
func (g *Google) serviceAccountKey() (*rsa.PrivateKey, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.saKey == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		g.saKey = key
		g.keys[KeyEmail] = &key.PublicKey
	}
	return g.saKey, nil
}

// ServeHTTP routes to the token endpoint, the STS exchange and the IAM
// Credentials API.
func (g *Google) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		googleError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	switch p := r.URL.Path; {
	case p == "/token":
		g.serveToken(w, r)
	case p == "/sts":
		g.serveExchange(w, r)
	case strings.HasPrefix(p, "/v1/projects/-/serviceAccounts/"):
		g.serveIAM(w, r, strings.TrimPrefix(p, "/v1/projects/-/serviceAccounts/"))
	default:
		googleError(w, http.StatusNotFound, "not found")
	}
}

// oauthError answers as Google's token endpoints do (RFC 6749 section 5.2).
func oauthError(w http.ResponseWriter, status int, code, desc string, extra ...string) {
	v := map[string]string{"error": code, "error_description": desc}
	for i := 0; i+1 < len(extra); i += 2 {
		v[extra[i]] = extra[i+1]
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (g *Google) issue(w http.ResponseWriter, member string, fields ...string) {
	tok := g.IssueAccessToken(member)
	v := map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3599}
	for i := 0; i+1 < len(fields); i += 2 {
		v[fields[i]] = fields[i+1]
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (g *Google) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request", "bad form")
		return
	}
	grant := r.PostForm.Get("grant_type")
	g.mu.Lock()
	expired, rapt := g.expired, g.rapt
	g.mu.Unlock()
	switch grant {
	case "refresh_token":
		// x/oauth2 sends the client's id and secret either in the form or
		// as Basic authentication; either is fine here.
		g.mu.Lock()
		member, ok := g.refresh[r.PostForm.Get("refresh_token")]
		g.mu.Unlock()
		switch {
		case !ok:
			oauthError(w, 400, "invalid_grant", "Bad Request")
		case rapt:
			oauthError(w, 400, "invalid_grant", "reauth related error (invalid_rapt)", "error_uri", "https://support.google.com/a/answer/9368756", "error_subtype", "invalid_rapt")
		case expired:
			oauthError(w, 400, "invalid_grant", "Token has been expired or revoked.")
		default:
			g.issue(w, member, "scope", "https://www.googleapis.com/auth/cloud-platform", "id_token", "")
		}
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		member, desc := g.verifyAssertion(r.PostForm.Get("assertion"), "http://"+r.Host+r.URL.Path)
		if member == "" {
			oauthError(w, 400, "invalid_grant", desc)
			return
		}
		g.issue(w, member)
	default:
		oauthError(w, 400, "unsupported_grant_type", "Invalid grant_type: "+grant)
	}
}

// verifyAssertion checks a service account's JWT-bearer assertion as
// Google's token endpoint does: RS256 signed by the key of its iss, aud this
// endpoint, not expired, a scope. It returns the member, or "" and why not.
func (g *Google) verifyAssertion(assertion, tokenURL string) (member, why string) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return "", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe"
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Iss   string `json:"iss"`
		Aud   string `json:"aud"`
		Scope string `json:"scope"`
		Exp   int64  `json:"exp"`
		Iat   int64  `json:"iat"`
	}
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return "", "Invalid JWT: malformed claims"
	}
	g.mu.Lock()
	pub := g.keys[c.Iss]
	g.mu.Unlock()
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch now := time.Now().Unix(); {
	case pub == nil:
		return "", "Invalid grant: account not found"
	case err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil:
		return "", "Invalid JWT Signature."
	case c.Aud != tokenURL:
		return "", "Invalid JWT: audience " + c.Aud + " is not " + tokenURL
	case c.Exp < now || c.Iat > now+300 || c.Exp-c.Iat > 3600:
		return "", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."
	case c.Scope == "":
		return "", "Invalid OAuth scope or ID token audience provided."
	}
	return "serviceAccount:" + c.Iss, ""
}

// serveExchange is Google's Security Token Service as Workload Identity
// Federation uses it (RFC 8693): a subject token for a federated access
// token of the pool's principal.
func (g *Google) serveExchange(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request", "bad form")
		return
	}
	f := r.PostForm
	g.mu.Lock()
	member, ok := g.subjects[f.Get("subject_token")]
	g.mu.Unlock()
	switch {
	case f.Get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange":
		oauthError(w, 400, "unsupported_grant_type", "Invalid grant_type")
	case f.Get("audience") != PoolAudience:
		oauthError(w, 400, "invalid_target", "The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.")
	case !ok:
		oauthError(w, 400, "invalid_grant", "The audience in ID Token [https://example.invalid] does not match the expected audience.")
	default:
		g.issue(w, member, "issued_token_type", "urn:ietf:params:oauth:token-type:access_token")
	}
}

// serveIAM is the IAM Credentials API's generateIdToken and
// generateAccessToken.
func (g *Google) serveIAM(w http.ResponseWriter, r *http.Request, rest string) {
	email, method, _ := strings.Cut(rest, ":")
	email, _ = url.PathUnescape(email)
	g.mu.Lock()
	var fault *GoogleFault
	if len(g.failures) > 0 {
		fault = &g.failures[0]
		g.failures = g.failures[1:]
	}
	caller, known := g.access[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	g.mu.Unlock()
	if fault != nil {
		if fault.Body != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fault.Status)
			fmt.Fprint(w, fault.Body)
			return
		}
		googleError(w, fault.Status, fault.Message)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || !known {
		googleError(w, 401, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.")
		return
	}
	var body struct {
		Audience     string   `json:"audience"`
		IncludeEmail bool     `json:"includeEmail"`
		Delegates    []string `json:"delegates"`
		Scope        []string `json:"scope"`
	}
	var raw map[string]any
	b, err := io.ReadAll(r.Body)
	if err != nil || json.Unmarshal(b, &body) != nil || json.Unmarshal(b, &raw) != nil {
		googleError(w, 400, "Invalid JSON payload received.")
		return
	}
	perm, role := "iam.serviceAccounts.getOpenIdToken", RoleOpenIDTokenCreator
	if method == "generateAccessToken" {
		perm, role = "iam.serviceAccounts.getAccessToken", RoleTokenCreator
	}
	denied := func(perm string) {
		googleError(w, 403, fmt.Sprintf("Permission '%s' denied on resource (or it may not exist).", perm))
	}
	// The chain: the caller acts as the first delegate, each delegate as
	// the next, the last as the target.
	actor := caller
	for _, d := range body.Delegates {
		de := strings.TrimPrefix(d, "projects/-/serviceAccounts/")
		if !g.allowed(de, actor, RoleTokenCreator) {
			denied("iam.serviceAccounts.getAccessToken")
			return
		}
		actor = "serviceAccount:" + de
	}
	if !g.allowed(email, actor, role) {
		denied(perm)
		return
	}
	g.mu.Lock()
	id := g.accounts[email]
	g.mu.Unlock()
	switch method {
	case "generateIdToken":
		if body.Audience == "" {
			googleError(w, 400, "Request contains an invalid argument.")
			return
		}
		now := time.Now()
		claims := map[string]any{
			"iss": "https://accounts.google.com", "aud": body.Audience,
			"azp": id, "sub": id, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}
		if body.IncludeEmail {
			claims["email"], claims["email_verified"] = email, true
		}
		tok, err := SignRS256(g.Key, DefaultKeyID, claims)
		if err != nil {
			googleError(w, 500, "Internal error encountered.")
			return
		}
		g.mu.Lock()
		g.idTokens++
		g.minted = append(g.minted, tok)
		g.lastBody = raw
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
	case "generateAccessToken":
		tok := g.IssueAccessToken("serviceAccount:" + email)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"accessToken": tok, "expireTime": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	default:
		googleError(w, 404, "Method not found.")
	}
}

// allowed says whether member holds role, or the token creator role that
// includes every permission we check, on the account target. An account
// the fake does not know has no bindings, so it is denied as IAM denies it.
func (g *Google) allowed(target, member, role string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.accounts[target]; !ok {
		return false
	}
	// A federated identity is also in its pool's principalSet, which is
	// what a binding for a whole pool names.
	members := []string{member}
	if pool, _, ok := strings.Cut(member, "/subject/"); ok {
		members = append(members, "principalSet://"+strings.TrimPrefix(pool, "principal://")+"/*")
	}
	for _, m := range members {
		for _, r := range g.bindings[target][m] {
			if r == role || r == RoleTokenCreator {
				return true
			}
		}
	}
	return false
}

// googleError answers in the JSON error format of Google's APIs.
func googleError(w http.ResponseWriter, status int, msg string) {
	statuses := map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "message": msg, "status": statuses[status]}})
}
