package fakes

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Federation is a fake AWS sign-in federation endpoint (the "custom
// identity broker" flow): GET ?Action=getSigninToken&Session={"sessionId",
// "sessionKey","sessionToken"} answers {"SigninToken": …} for keys its STS
// issued and that have not expired; GET ?Action=login&SigninToken=…&
// Destination=… redirects to Destination for a token it issued. Like AWS's
// endpoint for credentials from AssumeRole*, it refuses a SessionDuration.
type Federation struct {
	// STS is the fake whose keys it accepts.
	STS *STS

	mu     sync.Mutex
	tokens []string
	next   *FederationFault
}

// FederationFault is an answer given instead of serving a getSigninToken.
type FederationFault struct {
	Status      int
	ContentType string
	Body        string
}

// Federation faults.
var (
	// FederationRefused is AWS's answer to credentials it does not accept.
	FederationRefused = FederationFault{Status: 400, ContentType: "text/html", Body: "<html><body><h1>HTTP Status 400 - Invalid credentials parameter</h1></body></html>"}
	// FederationNotJSON is a 200 answer that is not the JSON document.
	FederationNotJSON = FederationFault{Status: 200, ContentType: "text/html", Body: "<!DOCTYPE html><html><body>Sign in to Wi-Fi</body></html>"}
	// FederationNoToken is JSON without a SigninToken.
	FederationNoToken = FederationFault{Status: 200, ContentType: "application/json", Body: `{"Error":"none"}`}
)

// FailNext makes the next getSigninToken answer f.
func (f *Federation) FailNext(fault FederationFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = &fault
}

// Tokens returns the sign-in tokens issued, so tests can check that none
// leaks.
func (f *Federation) Tokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.tokens...)
}

// ServeHTTP answers getSigninToken and login.
func (f *Federation) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch q.Get("Action") {
	case "getSigninToken":
		f.signinToken(w, q)
	case "login":
		tok := q.Get("SigninToken")
		f.mu.Lock()
		known := tok != "" && strings.Contains("\n"+strings.Join(f.tokens, "\n")+"\n", "\n"+tok+"\n")
		f.mu.Unlock()
		dest, err := url.Parse(q.Get("Destination"))
		if !known || err != nil || dest.Scheme != "https" {
			http.Error(w, "Invalid sign-in token or destination", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, dest.String(), http.StatusFound)
	default:
		http.Error(w, "unknown action", http.StatusBadRequest)
	}
}

func (f *Federation) signinToken(w http.ResponseWriter, q url.Values) {
	f.mu.Lock()
	fault := f.next
	f.next = nil
	f.mu.Unlock()
	if fault != nil {
		w.Header().Set("Content-Type", fault.ContentType)
		w.WriteHeader(fault.Status)
		fmt.Fprint(w, fault.Body)
		return
	}
	refuse := func() {
		w.Header().Set("Content-Type", FederationRefused.ContentType)
		w.WriteHeader(FederationRefused.Status)
		fmt.Fprint(w, FederationRefused.Body)
	}
	if _, set := q["SessionDuration"]; set {
		refuse()
		return
	}
	var s struct {
		ID    string `json:"sessionId"`
		Key   string `json:"sessionKey"`
		Token string `json:"sessionToken"`
	}
	if json.Unmarshal([]byte(q.Get("Session")), &s) != nil || f.STS == nil {
		refuse()
		return
	}
	f.STS.mu.Lock()
	keys, known := f.STS.sessions[s.ID]
	f.STS.mu.Unlock()
	if !known || keys.secret != s.Key || keys.token != s.Token || !f.STS.Now().Before(keys.expires) {
		refuse()
		return
	}
	tok := strings.ReplaceAll(strings.ReplaceAll(randB64(420), "/", "_"), "+", "-")
	f.mu.Lock()
	f.tokens = append(f.tokens, tok)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"SigninToken": tok})
}

// randB64 is n random bytes in standard base64.
func randB64(n int) string { return base64.StdEncoding.EncodeToString(randBytes(n)) }
