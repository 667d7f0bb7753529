// Package sts trades a web identity token for temporary AWS credentials with
// AssumeRoleWithWebIdentity. It serves this command only (its API takes the
// module's internal types); it knows STS and nothing of Google: what a
// failure means for the token's claims is explained by the caller, which
// holds them.
//
// It owns what can go wrong at STS: the request is checked against the API's
// limits before anything is sent; the endpoint is resolved per partition and
// refused if it would carry the token in cleartext; transient failures are
// retried and nothing else is; and STS error codes become messages that name
// the role and endpoint, with hints that spell out the IAM fix.
package sts

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
)

// Limits of AssumeRoleWithWebIdentity.
const (
	MinDuration   = 15 * time.Minute
	MaxDuration   = 12 * time.Hour
	MaxPolicyLen  = 2048
	MaxPolicyARNs = 10
	// MaxTokenLen is the longest WebIdentityToken STS accepts.
	MaxTokenLen = 20000
)

// Request is what to ask STS for.
type Request struct {
	// RoleARN is the role to assume.
	RoleARN string
	// SessionName becomes the last part of the assumed-role ARN and shows in
	// CloudTrail. Validate accepts it empty, for a name derived later from
	// the token; Exchange needs it set.
	SessionName string
	// Duration of the session; zero leaves STS's default of one hour.
	Duration time.Duration
	// DurationAs is how the user wrote Duration, with its flag or
	// variable ("--duration 90", "GCP_AWS_CRED_DURATION=90"), for messages;
	// empty quotes --duration and Duration's own form.
	DurationAs string
	// Policy is an inline session policy (JSON), optional.
	Policy string
	// PolicyARNs are managed session policies, optional.
	PolicyARNs []string
}

// The checks below are written out by hand rather than as regular
// expressions: compiling those at package init cost more than a millisecond
// of start-up on every run, for checks that take microseconds.

// partitions are the AWS partitions a role ARN may name.
var partitions = map[string]bool{
	"aws": true, "aws-cn": true, "aws-us-gov": true, "aws-iso": true, "aws-iso-b": true,
	"aws-iso-e": true, "aws-iso-f": true, "aws-eusc": true,
}

// sessionChar reports whether c may appear in a role session name or a role
// name: [\w+=,.@-].
func sessionChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_+=,.@-", c) >= 0
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func digits(s string) bool {
	return allBytes(s, func(c byte) bool { return '0' <= c && c <= '9' })
}

func printable(c byte) bool { return 0x21 <= c && c <= 0x7e }

// splitARN splits arn:PARTITION:SERVICE::ACCOUNT:RESOURCE, with an empty
// region as IAM ARNs have.
func splitARN(arn, service string) (partition, account, resource string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != service || parts[3] != "" {
		return "", "", "", false
	}
	return parts[1], parts[4], parts[5], true
}

// ParseRoleARN checks that arn names an IAM role and returns its account and
// role name (without path).
func ParseRoleARN(arn string) (account, name string, err error) {
	partition, account, resource, ok := splitARN(arn, "iam")
	path, ok2 := strings.CutPrefix(resource, "role/")
	name = path[strings.LastIndexByte(path, '/')+1:]
	if !ok || !ok2 || !partitions[partition] || len(account) != 12 || !digits(account) ||
		!allBytes(path, printable) || len(name) < 1 || len(name) > 64 || !allBytes(name, sessionChar) ||
		len(arn) < 20 || len(arn) > 2048 {
		return "", "", fail.Errorf(nil, "--role %q is not an IAM role ARN", arn).
			Hint("a role ARN looks like arn:aws:iam::123456789012:role/NAME (or arn:aws-cn:…, arn:aws-us-gov:…, with an optional path: role/PATH/NAME)",
				"copy it from the role's summary page in the IAM console, or: aws iam get-role --role-name NAME --query Role.Arn")
	}
	return account, name, nil
}

// Validate checks r against the API's limits, so a mistake is reported
// before a token is fetched, with the flag to change.
func (r Request) Validate() error {
	if r.RoleARN == "" {
		return fail.Errorf(nil, "no role to assume").
			Hint("pass --role arn:aws:iam::ACCOUNT:role/NAME, or set GCP_AWS_CRED_ROLE")
	}
	if _, _, err := ParseRoleARN(r.RoleARN); err != nil {
		return err
	}
	return r.ValidateParams()
}

// durationAs is Duration as the user wrote it, with its flag or variable.
func (r Request) durationAs() string {
	if r.DurationAs != "" {
		return r.DurationAs
	}
	return "--duration " + r.Duration.String()
}

// ValidateParams checks everything but the role, so that doctor can check
// the rest of a command line that names no role yet.
func (r Request) ValidateParams() error {
	if r.SessionName != "" {
		if err := ValidateSessionName(r.SessionName); err != nil {
			return err
		}
	}
	if r.Duration != 0 && r.Duration < MinDuration {
		return fail.Errorf(nil, "%s is out of range: STS issues sessions of 15m to 12h", r.durationAs()).
			Hint("the default, 1h, suits credential_process: SDKs refresh 5 to 15 minutes before expiry, so a session of 15m makes them call gcp-aws-cred on nearly every request")
	}
	if r.Duration > MaxDuration {
		return fail.Errorf(nil, "%s is out of range: STS issues sessions of 15m to 12h", r.durationAs()).
			Hint("12h (43200 seconds) is the most STS issues, and only for a role whose maximum session duration is 12h; `gcp-aws-cred doctor --role … --duration 12h` finds the role's maximum")
	}
	if r.Duration%time.Second != 0 {
		return fail.Errorf(nil, "%s is not a whole number of seconds", r.durationAs()).
			Hint("STS takes whole seconds: write it like 90m, 1h30m or 5400s")
	}
	// STS counts characters, not bytes.
	if n := utf8.RuneCountInString(r.Policy); n > MaxPolicyLen {
		return fail.Errorf(nil, "--policy is %d characters; STS accepts at most %d", n, MaxPolicyLen).
			Hint("move statements into a managed policy and pass it with --policy-arn")
	}
	if r.Policy != "" && !jsonObject(r.Policy) {
		return fail.Errorf(nil, "--policy is not a JSON policy document").
			Hint(`a session policy looks like {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	}
	if len(r.PolicyARNs) > MaxPolicyARNs {
		return fail.Errorf(nil, "%d --policy-arn values; STS accepts at most %d", len(r.PolicyARNs), MaxPolicyARNs).
			Hint("combine them into fewer managed policies, or narrow the role itself")
	}
	for _, p := range r.PolicyARNs {
		if !validPolicyARN(p) {
			return fail.Errorf(nil, "--policy-arn %q is not an IAM policy ARN", p).
				Hint("a managed policy ARN looks like arn:aws:iam::123456789012:policy/NAME or arn:aws:iam::aws:policy/ReadOnlyAccess")
		}
	}
	return nil
}

// validPolicyARN accepts arn:PARTITION:iam::ACCOUNT|aws:policy/PATH.
func validPolicyARN(arn string) bool {
	partition, account, resource, ok := splitARN(arn, "iam")
	rest, ok2 := strings.CutPrefix(resource, "policy/")
	return ok && ok2 && partitions[partition] && (account == "aws" || len(account) == 12 && digits(account)) &&
		rest != "" && allBytes(rest, printable)
}

// ValidateSessionName checks a RoleSessionName.
func ValidateSessionName(s string) error {
	if len(s) < 2 || len(s) > 64 || !allBytes(s, sessionChar) {
		return fail.Errorf(nil, "--session-name %q is not a valid role session name", s).
			Hint("use 2 to 64 characters from letters, digits and _+=,.@-")
	}
	return nil
}

// SanitizeSessionName turns any string (a host name, an email) into a valid
// role session name: runs of other characters become one '-', and the result
// is cut to 64. It returns "" when too little is left.
func SanitizeSessionName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case sessionChar(s[i]):
			b.WriteByte(s[i])
		case !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	s = strings.Trim(b.String(), "-")
	if len(s) > 64 {
		s = strings.TrimRight(s[:64], "-")
	}
	if len(s) < 2 {
		return ""
	}
	return s
}

func jsonObject(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "{") && json.Valid([]byte(s))
}
