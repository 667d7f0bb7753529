package token

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// JWT is the readable part of an ID token: header and claims. It holds no
// signature, so it is safe to print.
type JWT struct {
	Header Header
	Claims Claims
}

// Header is the JOSE header of an ID token.
type Header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Typ string `json:"typ,omitempty"`
}

// Claims are the claims of a Google ID token that IAM conditions or our
// messages use. IAM maps them as: accounts.google.com:aud = azp,
// accounts.google.com:oaud = aud, accounts.google.com:sub = sub.
type Claims struct {
	Issuer          string    `json:"iss"`
	Audience        Audience  `json:"aud"`
	AuthorizedParty string    `json:"azp,omitempty"`
	Subject         string    `json:"sub"`
	Email           string    `json:"email,omitempty"`
	EmailVerified   bool      `json:"email_verified,omitempty"`
	IssuedAt        UnixTime  `json:"iat"`
	Expiry          UnixTime  `json:"exp"`
	Google          *GoogleEx `json:"google,omitempty"`
}

// GoogleEx is the "google" claim that format=full adds on Compute Engine,
// and only there.
type GoogleEx struct {
	ComputeEngine *ComputeEngine `json:"compute_engine,omitempty"`
}

// ComputeEngine describes the VM that asked for the token.
type ComputeEngine struct {
	ProjectID                 string   `json:"project_id,omitempty"`
	ProjectNumber             int64    `json:"project_number,omitempty"`
	Zone                      string   `json:"zone,omitempty"`
	InstanceID                string   `json:"instance_id,omitempty"`
	InstanceName              string   `json:"instance_name,omitempty"`
	InstanceCreationTimestamp UnixTime `json:"instance_creation_timestamp,omitempty"`
}

// Instance returns the compute_engine block, or nil off Compute Engine.
func (c Claims) Instance() *ComputeEngine {
	if c.Google == nil {
		return nil
	}
	return c.Google.ComputeEngine
}

// IAMAud is the value IAM compares with accounts.google.com:aud: azp when the
// token has one (the service account's unique ID), aud otherwise.
func (c Claims) IAMAud() string {
	return cmp.Or(c.AuthorizedParty, c.Audience.String())
}

// Audience is the aud claim, which RFC 7519 allows as a string or a list.
type Audience []string

// UnmarshalJSON accepts both forms.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("aud is neither a string nor a list of strings")
	}
	*a = many
	return nil
}

// MarshalJSON writes a single audience as a plain string, as Google does.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// String joins the audiences with commas.
func (a Audience) String() string { return strings.Join(a, ",") }

// UnixTime is a JWT NumericDate.
type UnixTime int64

// Time converts to time.Time in UTC; zero stays the zero time.
func (u UnixTime) Time() time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(int64(u), 0).UTC()
}

// UnmarshalJSON accepts integers and, as RFC 7519 allows, fractions.
func (u *UnixTime) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("not a NumericDate: %s", b)
	}
	*u = UnixTime(int64(f))
	return nil
}

// Decode splits a JWT and reads its header and claims. It does not verify the
// signature. Its errors describe the shape of what was received and never
// quote it, since a malformed token may still be a credential.
func Decode(tok secret.String) (JWT, error) {
	raw := tok.Reveal()
	if raw == "" {
		return JWT{}, errors.New("the answer was empty")
	}
	switch raw[0] {
	case '<':
		return JWT{}, fmt.Errorf("the answer is an HTML or XML page (%d bytes)", len(raw))
	case '{', '[':
		return JWT{}, fmt.Errorf("the answer is JSON (%d bytes), not a compact JWT", len(raw))
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return JWT{}, fmt.Errorf("the answer has %d dot-separated parts, a JWT has 3 (%d bytes)", len(parts), len(raw))
	}
	var j JWT
	if err := decodePart(parts[0], &j.Header); err != nil {
		return JWT{}, fmt.Errorf("JWT header: %w", err)
	}
	if j.Header.Alg == "" {
		return JWT{}, errors.New("JWT header has no alg")
	}
	if err := decodePart(parts[1], &j.Claims); err != nil {
		return JWT{}, fmt.Errorf("JWT claims: %w", err)
	}
	if parts[2] == "" {
		return JWT{}, errors.New("JWT has no signature")
	}
	return j, nil
}

func decodePart(p string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(p, "="))
	if err != nil {
		return errors.New("not base64url")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return errors.New("not a JSON object")
	}
	return nil
}
