package ops

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

// Report is what doctor found, step by step. Its JSON form is read by
// scripts and monitoring: the keys below, the step names and the fact keys
// are stable, and docs/troubleshooting.md documents them.
type Report struct {
	OK    bool    `json:"ok"`
	Steps []*Step `json:"steps"`

	given *explain.Given
}

// Step is one link of the chain.
type Step struct {
	Name     string   `json:"name"`   // a key of titles
	Status   string   `json:"status"` // ok, warn, fail, throttled or skipped
	Facts    Facts    `json:"facts"`
	Warnings []string `json:"warnings,omitempty"`
	Error    string   `json:"error,omitempty"`
	Hints    []string `json:"hints,omitempty"`

	kind  error          // the failure's kind, which decides the exit status
	given *explain.Given // words its error
}

// titles are the steps' names in the text report.
var titles = map[string]string{
	"options": "options", "metadata_server": "metadata server", "id_token": "ID token",
	"sts_endpoint": "STS endpoint", "exchange": "exchange",
	"credentials": "Application Default Credentials", "access_token": "access token",
	"agent": "credential agent",
}

// Facts are what a step found, in the order it found them.
type Facts []Fact

// Fact is one finding. Key and Value are its JSON form; the text report
// shows Label and Text (else Value), if both are there.
type Fact struct{ Key, Label, Value, Text string }

// MarshalJSON writes facts as one object, keys in order.
func (f Facts) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, fact := range f {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(fact.Key)
		v, _ := json.Marshal(fact.Value)
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

// fact records a finding shown as it is, under its key in words.
func (s *Step) fact(key, value string) {
	s.Facts = append(s.Facts, Fact{Key: key, Label: strings.ReplaceAll(key, "_", " "), Value: value})
}

// factAs records a finding the text report shows under label, as text.
func (s *Step) factAs(key, label, value, text string) {
	s.Facts = append(s.Facts, Fact{Key: key, Label: label, Value: value, Text: text})
}

// failed marks the step failed when err is not nil, and reports whether it
// did. Throttling gets a status of its own: it says "slow down", not
// "misconfigured", and the run exits as the credential process does then.
func (s *Step) failed(err error) bool {
	if err == nil {
		return false
	}
	err = s.given.Explain(err)
	s.Status = "fail"
	if errors.Is(err, sts.ErrThrottled) {
		s.Status, s.kind = "throttled", sts.ErrThrottled
	}
	s.Error = err.Error()
	s.Hints = explain.Hints(err)
	return true
}

func (s *Step) warn(format string, args ...any) {
	s.Status = "warn"
	s.Warnings = append(s.Warnings, fmt.Sprintf(format, args...))
}

func (r *Report) step(name string) *Step {
	s := &Step{Name: name, Status: "ok", given: r.given}
	r.Steps = append(r.Steps, s)
	return s
}

// Doctor runs the chain one step at a time and reports on each. It stops
// at the first failure, which it explains with the values it found, in the
// words of the command line as given. Without a role it runs every step
// that needs none, then fails the exchange for want of one.
func Doctor(ctx context.Context, o *cred.Options, given *explain.Given) *Report {
	r := &Report{given: given}
	step := r.step
	// Every step is reported: those after a failure as skipped.
	plan := []string{"options", "metadata_server", "id_token", "sts_endpoint", "exchange"}
	if o.Impersonating() {
		plan = slices.Replace(plan, 1, 2, "credentials", "access_token")
	}
	defer func() {
		for _, name := range plan[len(r.Steps):] {
			step(name).Status = "skipped"
		}
	}()

	s := step("options")
	s.factAs("role", "role", o.Role, cmp.Or(o.Role, "(none)"))
	s.factAs("duration_seconds", "duration", fmt.Sprint(int64(o.Duration/time.Second)), o.Duration.String())
	s.fact("audience", o.Audience)
	s.fact("service_account", o.ServiceAccount)
	s.fact("session_name", o.SessionName)
	// Everything that needs no network is checked here, as the credential
	// process checks it, so a configuration mistake is reported as one.
	flow, err := cred.NewWithoutRole(o)
	if s.failed(err) {
		return r
	}
	if o.Role == "" {
		s.warn("no --role: the steps that need none run, the exchange cannot")
	}

	src, impersonating := flow.Source.(*token.IAMSource)
	if impersonating {
		if !impersonationSteps(ctx, r, src) {
			return r
		}
	} else if md, ok := flow.Source.(*token.MetadataSource); ok {
		s = step("metadata_server")
		s.fact("host", token.MetadataHost())
		// The email shows that the server is there and knows the account.
		email, err := md.Email(ctx)
		if s.failed(err) {
			return r
		}
		s.fact("service_account_email", email)
	}

	s = step("id_token")
	if impersonating {
		s.factAs("generated_by", "from", src.URL(), "generateIdToken at "+src.URL())
		s.fact("target", src.Target)
		s.fact("delegates", strings.Join(src.Delegates, ","))
	}
	tok, j, err := flow.Token(ctx)
	if s.failed(err) {
		return r
	}
	c := j.Claims
	// The claims with the IAM condition keys they feed: IAM compares
	// accounts.google.com:aud with azp, or with aud when there is no azp.
	if c.AuthorizedParty != "" {
		s.factAs("azp", "azp → accounts.google.com:aud", c.AuthorizedParty, "")
		s.factAs("aud", "aud → accounts.google.com:oaud", c.Audience.String(), "")
	} else {
		s.factAs("azp", "azp", "", "(none: accounts.google.com:aud compares aud)")
		s.factAs("aud", "aud → accounts.google.com:aud and :oaud", c.Audience.String(), "")
	}
	s.factAs("sub", "sub → accounts.google.com:sub", c.Subject, "")
	s.fact("iss", c.Issuer)
	s.fact("email", c.Email)
	now := time.Now()
	s.factAs("exp", "exp", rfc3339(c.Expiry.Time()), stamp(c.Expiry.Time(), now))
	if skew := c.IssuedAt.Time().Sub(now); skew > 5*time.Minute || skew < -5*time.Minute {
		s.warn("the token was issued at %s, %s from this machine's clock; STS rejects tokens when clocks disagree: check time sync", c.IssuedAt.Time().Format(time.RFC3339), skew.Round(time.Second))
	}
	if c.Audience.String() != o.Audience {
		s.warn("asked for audience %q, got %q", o.Audience, c.Audience)
	}

	client := flow.STS
	s = step("sts_endpoint")
	_, from := o.Endpoint()
	endpointFrom := "STS's endpoint for the region"
	if from != "" {
		endpointFrom = "from " + from
	}
	s.factAs("endpoint", "endpoint", client.Endpoint, fmt.Sprintf("%s (%s)", client.Endpoint, endpointFrom))
	s.factAs("endpoint_source", "", from, "")
	_, source, _ := o.STSRegion() // checked by NewWithoutRole
	s.factAs("region", "region", client.Region, fmt.Sprintf("%s (%s)", client.Region, source.Describe(o.Role)))
	s.factAs("region_source", "", string(source), "")
	if w := cred.UnknownRegion(client.Region); w != "" {
		s.warn("%s", w)
	}
	s.factAs("fips", "", fmt.Sprint(o.FIPS), "")
	s.factAs("proxy", "proxy", client.Proxy, cmp.Or(client.Proxy, "none"))
	s.factAs("ca_bundle", "CA bundle", o.CABundle, cmp.Or(o.CABundle, "system roots"))

	s = step("exchange")
	req := flow.Request(c)
	s.fact("session_name", req.SessionName)
	if o.Role == "" {
		s.failed(explain.Errorf(nil, "no role to assume").
			Hint("pass --role arn:aws:iam::ACCOUNT:role/NAME, or set GCP_AWS_CRED_ROLE",
				"no role yet? "+r.given.Command("trust-policy")+" prints the trust policy that admits this workload, to create one with"))
		return r
	}
	creds, err := flow.Exchange(ctx, tok, c, flow.FirstHop(req))
	if err == nil && o.Chained() {
		// The assumed-role ARN of every hop reached, the exchange's first,
		// so that a failing hop shows how far the chain got.
		reached := []string{creds.AssumedRoleARN}
		creds, err = flow.Chain(ctx, creds, req, func(hop awscred.Credentials) { reached = append(reached, hop.AssumedRoleARN) })
		s.factAs("chain", "chain", strings.Join(reached, " "), strings.Join(reached, " → "))
	}
	if s.failed(err) {
		if errors.Is(err, sts.ErrDurationTooLong) {
			if limit, ok := probeMaxDuration(ctx, flow, tok, c, req); ok {
				s.factAs("max_session_duration_seconds", "role's maximum session duration", fmt.Sprint(int64(limit/time.Second)), limit.String())
				s.Hints = append([]string{fmt.Sprintf("--duration %s works with this role", limit)}, s.Hints...)
			}
		}
		return r
	}
	s.fact("assumed_role", creds.AssumedRoleARN)
	s.fact("account", creds.AccountID)
	s.fact("access_key_id", mask(creds.AccessKeyID))
	s.factAs("expiration", "expires", rfc3339(creds.Expiration), stamp(creds.Expiration, time.Now()))
	r.OK = true
	return r
}

// impersonationSteps replace the metadata server's step with
// --impersonate: which Application Default Credentials were found, and
// whether they give an access token. It reports whether both worked.
func impersonationSteps(ctx context.Context, r *Report, src *token.IAMSource) bool {
	s := r.step("credentials")
	s.fact("impersonate", strings.Join(append(append([]string(nil), src.Delegates...), src.Target), ","))
	a, err := src.FindADC(ctx)
	if s.failed(err) {
		return false
	}
	s.fact("type", a.Type)
	s.factAs("source", "found", a.From, a.From)
	s.fact("file", a.File)
	s.factAs("caller", "caller", a.Member, cmp.Or(a.Member, "(not named in the credentials; a user login names no email)"))

	s = r.step("access_token")
	s.factAs("token_url", "from", a.TokenURL, a.TokenURL)
	if _, err := src.AccessToken(ctx, a); s.failed(err) {
		return false
	}
	s.factAs("scope", "scope", token.CloudPlatformScope, "")
	return true
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
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

// Err is the error doctor exits with: nil when the chain works.
func (r *Report) Err() error {
	if r.OK {
		return nil
	}
	for _, s := range r.Steps {
		if s.Status == "fail" || s.Status == "throttled" {
			return explain.Errorf(s.kind, "the chain fails at %q: %s", titles[s.Name], s.Error)
		}
	}
	return errors.New("the chain does not work")
}

// WriteText renders the report for people.
func (r *Report) WriteText(w io.Writer) error {
	r = r.cleaned()
	var b strings.Builder
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%-8s %s\n", "["+s.Status+"]", titles[s.Name])
		for _, f := range s.Facts {
			if text := cmp.Or(f.Text, f.Value); f.Label != "" && text != "" {
				b.WriteString(explain.Indent("         "+f.Label+": ", "           ", text))
			}
		}
		for _, wn := range s.Warnings {
			fmt.Fprintf(&b, "         warning: %s\n", wn)
		}
		if s.Error != "" {
			fmt.Fprintf(&b, "         error: %s\n", s.Error)
		}
		for _, h := range s.Hints {
			b.WriteString(explain.Indent("         hint: ", "           ", h))
		}
	}
	if r.OK {
		b.WriteString("\nthe chain works: credential_process will get credentials\n")
	} else {
		b.WriteString("\nthe chain does not work: see the step marked [fail]\n")
	}
	return toStdout(w, []byte(b.String()), "report")
}

// WriteJSON renders the report for machines.
func (r *Report) WriteJSON(w io.Writer) error {
	r = r.cleaned()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return toStdout(w, append(b, '\n'), "report")
}
