package sts

import (
	"errors"
	"fmt"
	"strings"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// Kinds of failure a caller may branch on with errors.Is. An *Error is
// each of them when its code says so, so callers neither import the SDK's
// error types nor re-read STS's messages.
var (
	// ErrAccessDenied: the role's trust policy did not admit the token
	// (AccessDenied, IDPRejectedClaim). Only the caller knows the token's
	// claims, so only it can say what the policy should have said.
	ErrAccessDenied = errors.New("STS did not let this token assume the role")
	// ErrThrottled: STS was still throttling after the retries.
	ErrThrottled = errors.New("STS is throttling requests")
	// ErrDurationTooLong: the requested duration is above the role's
	// MaxSessionDuration.
	ErrDurationTooLong = errors.New("the requested duration is longer than the role's maximum session duration")
)

// Error is a failed call of Op (AssumeRoleWithWebIdentity, or AssumeRole
// for a chained hop) for Role. Code, Message (secrets taken out) and
// RequestID are STS's when it answered with an error code; otherwise Err
// says what failed on the way: the network, TLS, an answer not STS's.
type Error struct {
	Op                       string
	Code, Message, RequestID string
	// Endpoint, Override, Region and Proxy are the Client's.
	Endpoint string
	Override bool
	Region   string
	Proxy    string
	// Role and Duration are what was asked for.
	Role     string
	Duration time.Duration
	// Err is the cause: the SDK's error, or an *AnswerError.
	Err error
}

// Error says what failed in the x/oauth2 way: the package, then the facts.
func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("sts: %s of %s at %s: %s: %s", e.Op, e.Role, e.Endpoint, e.Code, e.Message)
	}
	return fmt.Sprintf("sts: %s of %s at %s: %v", e.Op, e.Role, e.Endpoint, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether STS's code makes e one of the kinds above.
func (e *Error) Is(target error) bool {
	var kind error
	switch e.Code {
	case "AccessDenied", "IDPRejectedClaim":
		kind = ErrAccessDenied
	case "Throttling", "ThrottlingException", "RequestLimitExceeded":
		kind = ErrThrottled
	case "ValidationError":
		if strings.Contains(e.Message, "MaxSessionDuration") || strings.Contains(e.Message, "DurationSeconds exceeds") {
			kind = ErrDurationTooLong
		}
	}
	return target != nil && target == kind
}

// AnswerError is an answer that cannot have come from AWS STS: credentials
// missing, of impossible sizes or characters, or expiring at a time the
// request does not allow.
type AnswerError struct {
	// Incomplete: the answer has no complete credentials.
	Incomplete bool
	// Detail says what is implausible.
	Detail string
	// ClockAhead or ClockBehind: the Expiration would make sense if this
	// machine's clock were that far off.
	ClockAhead, ClockBehind bool
}

func (e *AnswerError) Error() string {
	if e.Incomplete {
		return "no complete credentials in the answer"
	}
	return "implausible answer: " + e.Detail
}

// ErrorCode returns the STS error code (AccessDenied, Throttling, …) of
// the *Error in err's chain, or "" when STS did not answer with one.
func ErrorCode(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return ""
}

// newError records a failed call of op; an API error's code and message
// are taken out of the SDK's error.
func (c *Client) newError(op string, err error, req Request) *Error {
	e := &Error{Op: op, Endpoint: c.Endpoint, Override: c.Override, Region: c.Region, Proxy: c.Proxy, Role: req.RoleARN, Duration: req.Duration, Err: err}
	if api, ok := errors.AsType[smithy.APIError](err); ok {
		// Both come from the peer, and a validation message can quote the
		// token: secrets are taken out before anything else sees them.
		e.Code, e.Message = flatten(secret.Redact(api.ErrorCode())), flatten(secret.Redact(api.ErrorMessage()))
	}
	if resp, ok := errors.AsType[*awshttp.ResponseError](err); ok {
		e.RequestID = resp.ServiceRequestID()
	}
	return e
}

// flatten puts s on one line.
func flatten(s string) string { return strings.Join(strings.Fields(s), " ") }

// Param names a value of the request or of the configuration.
type Param string

// The values a ParamError can be about, by their names in the API.
const (
	RoleArn          Param = "RoleArn"
	RoleSessionName  Param = "RoleSessionName"
	DurationSeconds  Param = "DurationSeconds"
	Policy           Param = "Policy"
	PolicyArns       Param = "PolicyArns"
	WebIdentityToken Param = "WebIdentityToken"
	Region           Param = "Region"
	Endpoint         Param = "Endpoint"
)

// Problem is what is wrong with a value, in the words of ParamError.Error.
type Problem string

// What a ParamError can say.
const (
	Missing         Problem = "missing"
	Malformed       Problem = "malformed" // Part says which part is wrong
	TooShort        Problem = "too short" // N is the size, Max the limit
	TooLong         Problem = "too long"  // likewise
	NotWholeSeconds Problem = "not a whole number of seconds"
	TooMany         Problem = "too many values" // N values where the API takes Max
	NotJSON         Problem = "not a JSON object"
	UserInfo        Problem = "carries user information" // an endpoint with user:password@
	Cleartext       Problem = "cleartext beyond loopback"
	Unresolved      Problem = "no endpoint" // for the region; Err says why
)

// ParamError is a value STS would refuse, or a configuration that cannot
// work, found before anything is sent.
type ParamError struct {
	Param   Param
	Problem Problem
	// Value is the value as given; for a duration, its text.
	Value string
	// Duration is the value of a DurationSeconds.
	Duration time.Duration
	// N and Max are sizes or counts, where Problem has them.
	N, Max int
	// Part says which part of a malformed value is wrong, in words; Want
	// is the value probably meant, when one can be told.
	Part, Want string
	Err        error
}

func (e *ParamError) Error() string {
	s := fmt.Sprintf("sts: %s %q: %s", e.Param, e.Value, e.Problem)
	if e.Part != "" {
		s += ": " + e.Part
	}
	return s
}

// Unwrap returns the cause, if any.
func (e *ParamError) Unwrap() error { return e.Err }

// CABundleError is a CA bundle that could not be used: Err is a regfile
// error, context.DeadlineExceeded, or ErrNoCertificate.
type CABundleError struct {
	Path string
	Err  error
}

// ErrNoCertificate: the CA bundle holds no PEM certificate.
var ErrNoCertificate = errors.New("no PEM certificate")

func (e *CABundleError) Error() string { return fmt.Sprintf("sts: CA bundle %s: %v", e.Path, e.Err) }

// Unwrap returns the cause.
func (e *CABundleError) Unwrap() error { return e.Err }
