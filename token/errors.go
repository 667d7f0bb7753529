package token

import (
	"fmt"
	"net/http"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// Every error token returns is one of these, or has one in its chain
// (errors.As): what went wrong with which peer or file, as data, and no
// word for the person at the terminal. The command line's words for them,
// with the flags that set each value, are internal/explain's; their Error
// methods are for logs and tests, x/oauth2's way, prefixed "token: ".

// IAMError is a generateIdToken call of the IAM Credentials API that got
// no token: an error answer, or none (Err).
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
	// Caller holds the credentials whose access token was sent.
	Caller *ADC
	// Err is why no answer came (Status is then 0): the run's deadline
	// included, when it ended the request.
	Err error
}

// Error says what the API answered.
func (e *IAMError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("token: the IAM Credentials API at %s: %v", e.Endpoint, e.Err)
	}
	return fmt.Sprintf("token: the IAM Credentials API at %s answered HTTP %d %s for %s: %s", e.Endpoint, e.Status, e.Code, e.Target, e.Message)
}

// Unwrap makes throttling (429) and unavailability (503) after the
// retries an ErrThrottled, and gives the cause of a missing answer.
func (e *IAMError) Unwrap() error {
	if e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable {
		return ErrThrottled
	}
	return e.Err
}

// IAMEndpointError is an IAM Credentials endpoint refused before any
// request.
type IAMEndpointError struct {
	// URL is the endpoint as it may be shown (no user information).
	URL string
	// Problem says what is wrong with it.
	Problem transport.EndpointProblem
}

// Error names the endpoint.
func (e *IAMEndpointError) Error() string {
	return fmt.Sprintf("token: IAM Credentials endpoint %s refused (problem %d)", e.URL, e.Problem)
}

// AnswerError is an answer of HTTP 200 that is not a token STS would
// take.
type AnswerError struct {
	// Peer is who answered ("metadata server", "IAM Credentials API"), At
	// its host or endpoint, and Want the token asked for ("ID token",
	// "access token").
	Peer, At, Want string
	// Missing says the answer held no token at all; Len is the length of
	// a token longer than STS accepts.
	Missing bool
	Len     int
	// Err says why the answer is not a token, when it was decoded.
	Err error
}

// Error says what was wrong with the answer.
func (e *AnswerError) Error() string {
	return fmt.Sprintf("token: the %s at %s answered no usable %s (length %d): %v", e.Peer, e.At, e.Want, e.Len, e.Err)
}

// Unwrap returns why the answer is not a token.
func (e *AnswerError) Unwrap() error { return e.Err }

// ADCTypeError is an Application Default Credentials file of a type this
// command cannot use.
type ADCTypeError struct {
	// File is the file, From what named it (FromEnv, FromWellKnown), and
	// Type its type, cleaned.
	File, From, Type string
}

// Error names the file and its type.
func (e *ADCTypeError) Error() string {
	return fmt.Sprintf("token: the Application Default Credentials file %s is of type %q", e.File, e.Type)
}

// NoADCError says no Application Default Credentials were found: neither
// the variable Env nor the file WellKnown, and the metadata server did
// not answer (Metadata says how).
type NoADCError struct {
	Env, WellKnown string
	Metadata       *MetadataError
}

// Error names where credentials were looked for.
func (e *NoADCError) Error() string {
	return fmt.Sprintf("token: no Application Default Credentials: %s is not set, %s does not exist: %v", e.Env, e.WellKnown, e.Metadata)
}

// Unwrap returns the metadata server's failure.
func (e *NoADCError) Unwrap() error { return e.Metadata }

// MetadataError is a request to the metadata server that failed: an
// answer that was an error (Status), or none (Status 0; Err says why).
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
	if e.Status == 0 {
		return fmt.Sprintf("token: the metadata server at %s: %v", e.Host, e.Err)
	}
	return fmt.Sprintf("token: the metadata server at %s answered HTTP %d for account %s", e.Host, e.Status, e.Account)
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
	return fmt.Sprintf("token: the token endpoint %s refused the Application Default Credentials in %s: HTTP %d %s/%s: %s", e.URL, e.File, e.Status, e.Code, e.Subtype, e.Description)
}

// Unwrap returns x/oauth2's error.
func (e *TokenEndpointError) Unwrap() error { return e.Err }

// ADCStage is where Application Default Credentials failed.
type ADCStage int

// The stages an ADCError names.
const (
	// ADCToken: no access token from the credentials' token endpoint.
	ADCToken ADCStage = iota
	// ADCRead: the file could not be read (Err is regfile's).
	ADCRead
	// ADCJSON: the file is not JSON.
	ADCJSON
	// ADCUse: x/oauth2 could not make a token source of the file.
	ADCUse
	// ADCLength: the access token answered is empty or implausibly long.
	ADCLength
)

// ADCError is a failure of the Application Default Credentials in File
// (named by From): reading it, using it, or getting an access token.
type ADCError struct {
	Stage      ADCStage
	File, From string
	// ADC is the credentials read, from ADCUse on.
	ADC *ADC
	// URL is the token endpoint as shown, and Len the length of the
	// access token it answered (ADCLength).
	URL string
	Len int
	// Answer is the token endpoint's last answer, if there was one, and
	// AnswerURL its URL as shown; Refused its error answer, as data; SourceTokenURL, for an
	// impersonated_service_account file, the token endpoint of its source
	// credentials (where a login is refreshed).
	Answer         *transport.Answer
	AnswerURL      string
	Refused        *TokenEndpointError
	SourceTokenURL string
	// Deadline says the run's context had ended when the request failed.
	Deadline bool
	// Err is the cause.
	Err error
}

// Error names the file and the cause.
func (e *ADCError) Error() string {
	return fmt.Sprintf("token: Application Default Credentials %s (stage %d): %v", e.File, e.Stage, e.Err)
}

// Unwrap returns the endpoint's refusal when there was one, else the
// cause.
func (e *ADCError) Unwrap() error {
	if e.Refused != nil {
		return e.Refused
	}
	return e.Err
}

// HostError is a GCE_METADATA_HOST that is not host[:port].
type HostError struct {
	// Value is the variable's value without user information, Why what
	// is wrong with it, and Fix the host:port probably meant, or "".
	Value, Why, Fix string
}

// Error says what is wrong.
func (e *HostError) Error() string {
	return fmt.Sprintf("token: GCE_METADATA_HOST=%q is not host:port: %s", e.Value, e.Why)
}
