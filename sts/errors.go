package sts

import (
	"errors"

	"github.com/aws/smithy-go"
)

// Kinds of failure a caller may branch on with errors.Is. Exchange wraps
// them into the errors it returns, next to the SDK's error, so callers
// neither import the SDK's error types nor re-read STS's messages.
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

// ErrorCode returns the STS error code (AccessDenied, Throttling, …) found
// anywhere in err's chain, or "" when STS did not answer with one.
func ErrorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// kindOf classifies an STS error code and message.
func kindOf(code, msg string) error {
	switch code {
	case "AccessDenied", "IDPRejectedClaim":
		return ErrAccessDenied
	case "Throttling", "ThrottlingException", "RequestLimitExceeded":
		return ErrThrottled
	case "ValidationError":
		if containsAny(msg, "MaxSessionDuration", "DurationSeconds exceeds") {
			return ErrDurationTooLong
		}
	}
	return nil
}
