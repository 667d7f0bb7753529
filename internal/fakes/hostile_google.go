package fakes

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// HostileGoogle is a Google that repeats every secret it was ever sent:
// it answers the first Pass requests honestly, through Google, and every
// later one with an error that quotes each secret it has received, raw,
// URL-encoded and base64-encoded. Run with Pass from 0 up, it makes every
// step of every ADC type's path echo everything sent until then.
type HostileGoogle struct {
	// Google answers the honest requests; its URL must be this fake's.
	Google *Google

	mu       sync.Mutex
	pass     int
	requests int
	received []string
}

// SetPass starts a new run: it forgets what was received, and sets how
// many requests are answered honestly. A run's echo holds only what that
// run sent, which is all that run can know to redact.
func (h *HostileGoogle) SetPass(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pass, h.requests, h.received = n, 0, nil
}

// Received lists every secret sent to it since SetPass.
func (h *HostileGoogle) Received() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.received...)
}

// The form fields that carry a secret, as transport registers them.
var hostileFormFields = []string{"subject_token", "actor_token", "assertion", "refresh_token", "client_secret"}

// ServeHTTP collects the request's secrets, then answers honestly or
// echoes.
func (h *HostileGoogle) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	r.Body = io.NopCloser(bytes.NewReader(body))
	var got []string
	if a := r.Header.Get("Authorization"); a != "" {
		_, cred, _ := strings.Cut(a, " ")
		got = append(got, cred)
		if b, err := base64.StdEncoding.DecodeString(cred); err == nil {
			_, pw, _ := strings.Cut(string(b), ":")
			got = append(got, pw)
		}
	}
	if form, err := url.ParseQuery(string(body)); err == nil {
		for _, f := range hostileFormFields {
			got = append(got, form[f]...)
		}
	}
	h.mu.Lock()
	for _, s := range got {
		if len(s) >= 8 {
			h.received = append(h.received, s)
		}
	}
	h.requests++
	honest := h.requests <= h.pass
	all := append([]string(nil), h.received...)
	h.mu.Unlock()
	if honest {
		h.Google.ServeHTTP(w, r)
		return
	}
	var echo strings.Builder
	for _, s := range all {
		fmt.Fprintf(&echo, "raw %s url %s b64 %s b64url %s; ", s, url.QueryEscape(s), base64.StdEncoding.EncodeToString([]byte(s)), base64.URLEncoding.EncodeToString([]byte(s)))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": 400, "status": "INVALID_ARGUMENT", "message": "you sent " + echo.String()}})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": "you sent " + echo.String()})
}
