// Package ops holds the commands beside the credential process:
// trust-policy, token, doctor, exec and console. The hard part of
// Google-to-AWS federation is the IAM set-up, and each explains it with
// this workload's real values. None writes to disk, and none prints a raw
// token, a signature, a secret key or a session token.
package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/output"
	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

// fetchClaims gets a token and returns its readable part only.
func fetchClaims(ctx context.Context, o *cred.TokenOptions) (token.JWT, error) {
	flow, err := cred.NewTokenFlow(o)
	if err != nil {
		return token.JWT{}, err
	}
	_, j, err := flow.Token(ctx)
	return j, err
}

// TrustPolicy writes the IAM trust policy that admits exactly this
// workload's tokens, for aws iam create-role.
func TrustPolicy(ctx context.Context, o *cred.TokenOptions, stdout io.Writer) error {
	j, err := fetchClaims(ctx, o)
	if err != nil {
		return err
	}
	b, err := cred.TrustPolicy(j.Claims)
	if err != nil {
		return err
	}
	return toStdout(stdout, append(clean.JSON(b), '\n'), "trust policy")
}

// TokenInfo is what the token command shows: the token's header and claims,
// each claim with the IAM condition key it feeds. It has no signature.
type TokenInfo struct {
	MetadataHost   string `json:"metadata_host"`
	ServiceAccount string `json:"service_account"`
	// With --impersonate, the token came from generateIdToken for these.
	Impersonated  string              `json:"impersonated,omitempty"`
	Delegates     []string            `json:"delegates,omitempty"`
	Header        token.Header        `json:"header"`
	Claims        token.Claims        `json:"claims"`
	ConditionKeys []cred.ConditionKey `json:"iam_condition_keys"`

	// tokenArgs decide the token, for the command the text names next.
	tokenArgs []string
}

// Token fetches a token and writes its description, as text or JSON.
func Token(ctx context.Context, o *cred.TokenOptions, asJSON bool, stdout io.Writer) error {
	j, err := fetchClaims(ctx, o)
	if err != nil {
		return err
	}
	info := TokenInfo{
		MetadataHost: token.MetadataHost(), ServiceAccount: o.ServiceAccount,
		Header: j.Header, Claims: j.Claims, ConditionKeys: cred.ConditionKeys(j.Claims),
		tokenArgs: o.TokenArgs(),
	}
	info.Impersonated, info.Delegates = o.Chain()
	b := info.Text(time.Now())
	if asJSON {
		if b, err = info.JSON(); err != nil {
			return err
		}
	}
	return toStdout(stdout, b, "token's description")
}

// JSON renders the description for machines.
func (t TokenInfo) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(t, "", "  ")
	return append(clean.JSON(b), '\n'), err
}

// Text renders the description for people: one claim a line, with the IAM
// condition key it feeds beside it.
func (t TokenInfo) Text(now time.Time) []byte {
	var tb table
	c := t.Claims
	if t.Impersonated != "" {
		via := ""
		if len(t.Delegates) > 0 {
			via = " through " + strings.Join(t.Delegates, ", ")
		}
		tb.line(fmt.Sprintf("ID token from generateIdToken for service account %q%s, as the caller Application Default Credentials name", t.Impersonated, via))
	} else {
		tb.line(fmt.Sprintf("ID token from the metadata server at %s for service account %q", t.MetadataHost, t.ServiceAccount))
	}
	tb.line("(signature not shown: the token is a bearer credential)")
	tb.line("")
	tb.line("header")
	tb.row("alg", t.Header.Alg, "")
	tb.row("kid", t.Header.Kid, "Google key that signed it; STS fetches it from https://www.googleapis.com/oauth2/v3/certs")
	tb.row("typ", t.Header.Typ, "")
	tb.line("")
	tb.rows = append(tb.rows, tableRow{value: "claims", note: "IAM condition key / meaning"})
	tb.row("iss", c.Issuer, `the trust policy's Principal: {"Federated": "accounts.google.com"}`)
	if c.AuthorizedParty != "" {
		tb.row("aud", c.Audience.String(), "accounts.google.com:oaud (the audience you asked for: --audience)")
		tb.row("azp", c.AuthorizedParty, "accounts.google.com:aud (the service account's unique ID, despite the key's name)")
	} else {
		tb.row("aud", c.Audience.String(), "accounts.google.com:oaud, and :aud too (the token has no azp)")
	}
	tb.row("sub", c.Subject, "accounts.google.com:sub (the service account's unique ID)")
	tb.row("email", c.Email, "no condition key; pin sub instead: a re-created account keeps its email, not its ID")
	if c.Email != "" {
		tb.row("email_verified", fmt.Sprint(c.EmailVerified), "")
	}
	tb.row("iat", stamp(c.IssuedAt.Time(), now), "")
	tb.row("exp", stamp(c.Expiry.Time(), now), "")
	if ce := c.Instance(); ce != nil {
		tb.line("")
		tb.line("google.compute_engine (Compute Engine only; no IAM condition key)")
		tb.row("project_id", ce.ProjectID, "")
		if ce.ProjectNumber != 0 {
			tb.row("project_number", fmt.Sprint(ce.ProjectNumber), "")
		}
		tb.row("zone", ce.Zone, "")
		tb.row("instance_id", ce.InstanceID, "")
		tb.row("instance_name", ce.InstanceName, "the default --session-name")
		if !ce.InstanceCreationTimestamp.Time().IsZero() {
			tb.row("instance_creation_timestamp", ce.InstanceCreationTimestamp.Time().Format(time.RFC3339), "")
		}
	}
	tb.line("")
	tb.line("run " + (&explain.Given{TokenArgs: t.tokenArgs}).Command("trust-policy") + " for the trust policy that admits exactly this token")
	return tb.render()
}

// table lays out rows of key, value and note in three columns, sized to
// what they hold, among lines of plain text. A value past maxValueWidth
// puts its note on the line below, so one long value does not push every
// note off the screen.
type table struct{ rows []tableRow }

// tableRow without a key is a line of plain text, and its note a heading
// over the notes column.
type tableRow struct{ key, value, note string }

const maxValueWidth = 48

func (t *table) line(s string) { t.rows = append(t.rows, tableRow{value: s}) }

// row adds a key, its value and a note; an empty value is left out.
func (t *table) row(key, value, note string) {
	if value != "" {
		value = clean.Line(value) // claims come from the metadata server
		t.rows = append(t.rows, tableRow{key: key, value: value, note: note})
	}
}

func (t *table) render() []byte {
	kw, vw := 0, 0
	for _, r := range t.rows {
		if r.key != "" {
			kw = max(kw, utf8.RuneCountInString(r.key))
			if r.note != "" && utf8.RuneCountInString(r.value) <= maxValueWidth {
				vw = max(vw, utf8.RuneCountInString(r.value))
			}
		}
	}
	noteCol := 2 + kw + 1 + vw + 2
	pad := func(s string, w int) string {
		return s + strings.Repeat(" ", max(0, w-utf8.RuneCountInString(s)))
	}
	var b strings.Builder
	for _, r := range t.rows {
		line := r.value
		if r.key != "" {
			line = "  " + pad(r.key, kw) + " " + r.value
		}
		if r.note != "" {
			if r.key != "" && utf8.RuneCountInString(line)+2 > noteCol {
				b.WriteString(line + "\n")
				line = ""
			}
			line = pad(line, noteCol) + r.note
		}
		b.WriteString(line + "\n")
	}
	return []byte(b.String())
}

func stamp(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	// The direction comes from the exact difference: a time half a second
	// past rounds to 0s, and is still "0s ago", not "in 0s".
	d := t.Sub(now)
	rel := fmt.Sprintf("in %s", d.Round(time.Second))
	if d <= 0 {
		rel = fmt.Sprintf("%s ago", (-d).Round(time.Second))
	}
	return fmt.Sprintf("%s (%s)", t.Format(time.RFC3339), rel)
}

// toStdout writes a command's answer in one write, as output.Write does
// for the credentials, and words a failed or short write with a hint: a
// reader gone away is otherwise a bare "broken pipe".
func toStdout(w io.Writer, b []byte, what string) error {
	if err := output.Write(w, b); err != nil {
		return explain.Errorf(err, "cannot write the %s to stdout: %v", what, err).
			Hint("run it with stdout open")
	}
	return nil
}
