package token

import (
	"fmt"
	"net/http"
)

// The errors below carry what a peer answered, as data, in the chain of
// the error each source returns (errors.As), so a caller can word them
// itself or act on them: which endpoint, which status, which code.

// IAMError is an answer of the IAM Credentials API's generateIdToken that
// was not a token.
type IAMError struct {
	// Endpoint is the API's base URL, Target the account asked for and
	// Delegates the chain in between.
	Endpoint, Target string
	Delegates        []string
	// Status is the HTTP status; Code and Message Google's error status
	// and message, cleaned and cut to fit a line.
	Status        int
	Code, Message string
	// Tries counts the requests made, retries included.
	Tries int
}

// Error says what the API answered.
func (e *IAMError) Error() string {
	return fmt.Sprintf("the IAM Credentials API at %s answered HTTP %d %s for %s", e.Endpoint, e.Status, oauthText(e.Code, e.Message, ""), e.Target)
}

// Unwrap makes throttling (429) and unavailability (503) after the
// retries an ErrThrottled.
func (e *IAMError) Unwrap() error {
	if e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable {
		return ErrThrottled
	}
	return nil
}

// MetadataError is an answer of the metadata server that was an error.
type MetadataError struct {
	// Host is the metadata server asked (GCE_METADATA_HOST or the
	// link-local address) and Account the attached account.
	Host, Account string
	// Status is the HTTP status and Body the start of the answer, as the
	// metadata package returned it.
	Status int
	Body   string
	// Err is the metadata package's error.
	Err error
}

// Error says what the metadata server answered.
func (e *MetadataError) Error() string {
	return fmt.Sprintf("the metadata server at %s answered HTTP %d for account %s", e.Host, e.Status, e.Account)
}

// Unwrap returns the metadata package's error.
func (e *MetadataError) Unwrap() error { return e.Err }

// TokenEndpointError is an error answer of a Google token endpoint (the
// OAuth 2.0 token endpoint, Google's STS, or generateAccessToken) to the
// Application Default Credentials in File.
type TokenEndpointError struct {
	// File and Type are the ADC file's; URL is the endpoint as shown.
	File, Type, URL string
	// Status is the HTTP status; Code, Description and Subtype RFC 6749's
	// error, error_description and Google's error_subtype, cleaned.
	Status                     int
	Code, Description, Subtype string
	// Err is x/oauth2's error.
	Err error
}

// Error says which endpoint refused what.
func (e *TokenEndpointError) Error() string {
	return fmt.Sprintf("the token endpoint %s refused the Application Default Credentials in %s (%s): HTTP %d %s", e.URL, e.File, e.Type, e.Status, oauthText(e.Code, e.Description, e.Subtype))
}

// Unwrap returns x/oauth2's error.
func (e *TokenEndpointError) Unwrap() error { return e.Err }
