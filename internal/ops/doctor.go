package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

// Report is what doctor found, step by step.
type Report struct {
	OK    bool    `json:"ok"`
	Steps []*Step `json:"steps"`
}

// Step is one link of the chain.
type Step struct {
	Name     string   `json:"name"`
	Status   string   `json:"status"` // ok, warn, fail, throttled, skipped
	Facts    Facts    `json:"facts,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Error    string   `json:"error,omitempty"`
	Hints    []string `json:"hints,omitempty"`
	// kind is the failure's kind that decides the exit status.
	kind error
}

// Facts are what a step found, in the order it found them.
type Facts []Fact

// Fact is one finding.
type Fact struct{ Key, Value string }

// MarshalJSON writes facts as one object, keys in order.
func (f Facts) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, fact := range f {
		k, _ := json.Marshal(fact.Key)
		v, _ := json.Marshal(fact.Value)
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

func (s *Step) fact(k, v string) { s.Facts = append(s.Facts, Fact{k, v}) }

// fail marks the step failed. Throttling gets a status of its own: it says
// "slow down", not "misconfigured", and the run exits as the credential
// process does then.
func (s *Step) fail(err error) {
	s.Status = "fail"
	if errors.Is(err, sts.ErrThrottled) {
		s.Status, s.kind = "throttled", sts.ErrThrottled
	}
	s.Error = err.Error()
	s.Hints = fail.Hints(err)
}

// Doctor runs the chain one step at a time and reports on each: options,
// metadata server, token, STS endpoint, exchange. It stops at the first
// failure, which it explains with the values it found.
func Doctor(ctx context.Context, o *cred.Options) *Report {
	r := &Report{}
	step := func(name string) *Step {
		s := &Step{Name: name, Status: "ok"}
		r.Steps = append(r.Steps, s)
		return s
	}
	skipRest := func(names ...string) {
		for _, n := range names {
			step(n).Status = "skipped"
		}
	}

	s := step("options")
	s.fact("role", o.Role)
	s.fact("duration", o.Duration.String())
	s.fact("audience", o.Audience)
	s.fact("service account", o.ServiceAccount)
	// Everything that needs no network is checked here, as the credential
	// process checks it, so a configuration mistake is reported as one.
	flow, err := cred.New(o)
	if err != nil {
		s.fail(err)
		skipRest("metadata server", "ID token", "STS endpoint", "exchange")
		return r
	}

	s = step("metadata server")
	s.fact("host", token.MetadataHost())
	email, err := flow.Email(ctx)
	if err != nil {
		s.fail(err)
		skipRest("ID token", "STS endpoint", "exchange")
		return r
	}
	s.fact("service account email", email)

	s = step("ID token")
	tok, j, err := flow.Token(ctx)
	if err != nil {
		s.fail(err)
		skipRest("STS endpoint", "exchange")
		return r
	}
	c := j.Claims
	for _, k := range cred.ConditionKeys(c) {
		s.fact(k.Claim+" → "+k.Key, k.Value)
	}
	s.fact("iss", c.Issuer)
	s.fact("email", c.Email)
	now := time.Now()
	s.fact("exp", stamp(c.Expiry.Time(), now))
	if skew := c.IssuedAt.Time().Sub(now); skew > 5*time.Minute || skew < -5*time.Minute {
		s.Status = "warn"
		s.Warnings = append(s.Warnings, fmt.Sprintf("the token was issued at %s, %s from this machine's clock; STS rejects tokens when clocks disagree: check time sync", c.IssuedAt.Time().Format(time.RFC3339), skew.Round(time.Second)))
	}
	if c.Audience.String() != o.Audience {
		s.Status = "warn"
		s.Warnings = append(s.Warnings, fmt.Sprintf("asked for audience %q, got %q", o.Audience, c.Audience))
	}

	client := flow.STS
	s = step("STS endpoint")
	s.fact("endpoint", client.Endpoint)
	s.fact("region", client.Region)
	s.fact("proxy", orDefault(client.Proxy, "none"))
	s.fact("CA bundle", orDefault(o.CABundle, "system roots"))

	s = step("exchange")
	req := flow.Request(c)
	s.fact("session name", req.SessionName)
	creds, err := flow.Exchange(ctx, tok, c, req)
	if err != nil {
		s.fail(err)
		if errors.Is(err, sts.ErrDurationTooLong) {
			if limit, ok := probeMaxDuration(ctx, flow, tok, c, req); ok {
				s.fact("role's maximum session duration", limit.String())
				s.Hints = append([]string{fmt.Sprintf("--duration %s works with this role", limit)}, s.Hints...)
			}
		}
		return r
	}
	s.fact("assumed role", creds.AssumedRoleARN)
	s.fact("account", creds.AccountID)
	s.fact("access key id", mask(creds.AccessKeyID))
	s.fact("expires", stamp(creds.Expiration, time.Now()))
	r.OK = true
	return r
}

// probeMaxDuration finds the role's MaxSessionDuration after STS said the
// request asked for more: STS does not say the limit, so doctor asks for
// shorter sessions, halving the gap, until it knows it to the minute.
func probeMaxDuration(ctx context.Context, flow *cred.Flow, tok secret.String, claims token.Claims, req sts.Request) (time.Duration, bool) {
	lo, hi := time.Hour, req.Duration // the role allows at least 1h
	if hi <= lo {
		return 0, false
	}
	for hi-lo > time.Minute {
		mid := (lo + hi) / 2 / time.Minute * time.Minute
		req.Duration = mid
		_, err := flow.Exchange(ctx, tok, claims, req)
		switch {
		case err == nil:
			lo = mid
		case errors.Is(err, sts.ErrDurationTooLong):
			hi = mid
		default:
			return 0, false
		}
	}
	return lo, true
}

func mask(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[:4] + strings.Repeat("*", len(id)-8) + id[len(id)-4:]
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Err is the error doctor exits with: nil when the chain works.
func (r *Report) Err() error {
	if r.OK {
		return nil
	}
	for _, s := range r.Steps {
		if s.Status == "fail" || s.Status == "throttled" {
			return fail.Errorf(s.kind, "the chain fails at %q: %s", s.Name, s.Error)
		}
	}
	return errors.New("the chain does not work")
}

// WriteText renders the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%-8s %s\n", "["+s.Status+"]", s.Name)
		for _, f := range s.Facts {
			if f.Value != "" {
				b.WriteString(fail.Indent("         "+f.Key+": ", "           ", f.Value))
			}
		}
		for _, wn := range s.Warnings {
			fmt.Fprintf(&b, "         warning: %s\n", wn)
		}
		if s.Error != "" {
			fmt.Fprintf(&b, "         error: %s\n", s.Error)
		}
		for _, h := range s.Hints {
			b.WriteString(fail.Indent("         hint: ", "           ", h))
		}
	}
	if r.OK {
		b.WriteString("\nthe chain works: credential_process will get credentials\n")
	} else {
		b.WriteString("\nthe chain does not work: see the step marked [fail]\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON renders the report for machines.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
