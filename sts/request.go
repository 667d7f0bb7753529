// Package sts trades a web identity token for temporary AWS credentials with
// AssumeRoleWithWebIdentity. It serves this command only (its API takes the
// module's internal types) and knows nothing of Google: the caller, which
// holds the token's claims, explains what a failure means for them.
//
// The request is checked against the API's limits before anything is sent;
// the endpoint is resolved per partition and refused if it would carry the
// token in cleartext; only transient failures are retried. Its errors carry
// data (*Error, *ParamError, *CABundleError) and name no flag:
// internal/explain words them.
package sts

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
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
	// SessionName ends the assumed-role ARN and shows in CloudTrail.
	// Validate accepts it empty, to be derived from the token; Exchange
	// needs it.
	SessionName string
	// Duration of the session; zero leaves STS's default of one hour.
	Duration time.Duration
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

// ParseRoleARN checks that s names an IAM role and returns its account and
// role name (without path). Its error says which part is wrong, and names
// the role of an assumed-role ARN (from get-caller-identity).
func ParseRoleARN(s string) (account, name string, err error) {
	bad := func(part, want string) (string, string, error) {
		return "", "", &ParamError{Param: RoleArn, Problem: Malformed, Value: s, Part: part, Want: want}
	}
	if t := strings.TrimSpace(s); t != s {
		if _, _, err := ParseRoleARN(t); err == nil {
			return bad("it has white space at its start or end", t)
		}
		return bad("it has white space at its start or end", "")
	}
	a, err := arn.Parse(s)
	switch {
	case err != nil:
		return bad("it does not have the six parts of an ARN, arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE", "")
	case a.Service == "sts" && strings.HasPrefix(a.Resource, "assumed-role/"):
		role, _, _ := strings.Cut(strings.TrimPrefix(a.Resource, "assumed-role/"), "/")
		return bad("it names a session of the role (assumed-role/…), as get-caller-identity prints it, not the role", fmt.Sprintf("arn:%s:iam::%s:role/%s", a.Partition, a.AccountID, role))
	case a.Service != "iam":
		return bad(fmt.Sprintf("its service is %q, not iam", a.Service), "")
	case !partitions[a.Partition]:
		return bad(fmt.Sprintf("%q is not an AWS partition", a.Partition), "")
	case a.Region != "":
		return bad(fmt.Sprintf("IAM ARNs name no region, and it names %q", a.Region), "")
	case len(a.AccountID) != 12 || !digits(a.AccountID):
		return bad(fmt.Sprintf("the account ID %q has %d characters; an AWS account ID is 12 digits", a.AccountID, len(a.AccountID)), "")
	}
	path, ok := strings.CutPrefix(a.Resource, "role/")
	name = path[strings.LastIndexByte(path, '/')+1:]
	switch {
	case !ok:
		return bad(fmt.Sprintf("its resource %q does not start with role/", a.Resource), "")
	case !allBytes(path, printable) || len(name) < 1 || len(name) > 64 || !allBytes(name, sessionChar) || len(s) > 2048:
		return bad("a role name has 1 to 64 characters from letters, digits and _+=,.@-", "")
	}
	return a.AccountID, name, nil
}

// Validate checks r against the API's limits, so a mistake is reported
// before a token is fetched.
func (r Request) Validate() error {
	if r.RoleARN == "" {
		return &ParamError{Param: RoleArn, Problem: Missing}
	}
	if _, _, err := ParseRoleARN(r.RoleARN); err != nil {
		return err
	}
	return r.ValidateParams()
}

// ValidateParams checks everything but the role, so that doctor can check
// the rest of a command line that names no role yet.
func (r Request) ValidateParams() error {
	if r.SessionName != "" {
		if err := ValidateSessionName(r.SessionName); err != nil {
			return err
		}
	}
	duration := func(p Problem) error {
		return &ParamError{Param: DurationSeconds, Problem: p, Value: r.Duration.String(), Duration: r.Duration}
	}
	switch {
	case r.Duration != 0 && r.Duration < MinDuration:
		return duration(TooShort)
	case r.Duration > MaxDuration:
		return duration(TooLong)
	case r.Duration%time.Second != 0:
		return duration(NotWholeSeconds)
	}
	// STS counts characters, not bytes.
	if n := utf8.RuneCountInString(r.Policy); n > MaxPolicyLen {
		return &ParamError{Param: Policy, Problem: TooLong, N: n, Max: MaxPolicyLen}
	}
	if r.Policy != "" && !jsonObject(r.Policy) {
		return &ParamError{Param: Policy, Problem: NotJSON}
	}
	if len(r.PolicyARNs) > MaxPolicyARNs {
		return &ParamError{Param: PolicyArns, Problem: TooMany, N: len(r.PolicyARNs), Max: MaxPolicyARNs}
	}
	for _, p := range r.PolicyARNs {
		if !validPolicyARN(p) {
			return &ParamError{Param: PolicyArns, Problem: Malformed, Value: p}
		}
	}
	return nil
}

// validPolicyARN accepts arn:PARTITION:iam::ACCOUNT|aws:policy/PATH.
func validPolicyARN(s string) bool {
	a, err := arn.Parse(s)
	path, ok := strings.CutPrefix(a.Resource, "policy/")
	return err == nil && a.Service == "iam" && a.Region == "" && partitions[a.Partition] &&
		(a.AccountID == "aws" || len(a.AccountID) == 12 && digits(a.AccountID)) && ok && path != "" && allBytes(path, printable)
}

// ValidateSessionName checks a RoleSessionName.
func ValidateSessionName(s string) error {
	if len(s) < 2 || len(s) > 64 || !allBytes(s, sessionChar) {
		return &ParamError{Param: RoleSessionName, Problem: Malformed, Value: s}
	}
	return nil
}

// SanitizeSessionName turns any string (a host name, an email) into a role
// session name: runs of other characters become one '-', cut to 64; "" when
// too little is left.
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
