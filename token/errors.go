package token

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// Every error token returns is one of these, or has one in its chain
// (errors.As): what went wrong with which peer or file, as data, and no
// word for the person at the terminal. The command line's words for them,
// with the flags that set each value, are internal/explain's; their Error
// methods are for logs and tests, x/oauth2's way, prefixed "token: ".

// IAMError is a failure of the IAM Credentials API: its endpoint refused
// before any request (Problem), or a generateIdToken call that got an
// error answer, or none (Err).
type IAMError struct {
	// Endpoint is the API's base URL as it may be shown, Target the
	// account asked for and Delegates the chain in between.
	Endpoint, Target string
	Delegates        []string
	// Problem is what is wrong with Endpoint, when it was refused.
	Problem transport.EndpointProblem
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
	switch {
	case e.Problem != transport.EndpointOK:
		return fmt.Sprintf("token: IAM Credentials endpoint %s refused (problem %d)", e.Endpoint, e.Problem)
	case e.Err != nil:
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

// MetadataError is a request to the metadata server that failed: an
// answer that was an error (Status), or none (Status 0; Err says why).
type MetadataError struct {
	// Host is the metadata server asked (GCE_METADATA_HOST or the
	// link-local address) and Account the attached account.
	Host, Account string
	// Status is the HTTP status (404: the account is not defined) and
	// Body the start of the answer, as the metadata package returned it.
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

// ADCStage is where Application Default Credentials failed.
type ADCStage int

// The stages an ADCError names.
const (
	// ADCToken: no access token from the credentials' token endpoint.
	ADCToken ADCStage = iota
	// ADCNone: none were found. FromEnv is not set, gcloud's well-known
	// file (ADC.File) does not exist, and the metadata server did not
	// answer (Err is its *MetadataError).
	ADCNone
	// ADCRead: the file could not be read (Err is regfile's).
	ADCRead
	// ADCJSON: the file is not JSON.
	ADCJSON
	// ADCType: the file's type (ADC.Type, cleaned) is not one this
	// package takes.
	ADCType
	// ADCUse: x/oauth2 could not make a token source of the file.
	ADCUse
	// ADCLength: the access token answered is empty or implausibly long.
	ADCLength
)

// ADCError is a failure of Application Default Credentials: finding,
// reading or using them, or getting an access token.
type ADCError struct {
	Stage ADCStage
	// ADC are the credentials: File and From at every stage, the rest
	// from ADCUse on.
	ADC *ADC
	// Len is the length of the access token answered (ADCLength).
	Len int
	// Answer is the token endpoint's last failed request, if there was
	// one. When it has no Err, Code, Description and Subtype are RFC
	// 6749's error, error_description and Google's error_subtype of its
	// body, cleaned, and AtSource says it came from the token endpoint of
	// an impersonated_service_account file's source credentials (where a
	// login is refreshed).
	Answer                     *transport.Answer
	Code, Description, Subtype string
	AtSource                   bool
	// Deadline says the run's context had ended when the request failed.
	Deadline bool
	// Err is the cause.
	Err error
}

// Error names the file and the cause.
func (e *ADCError) Error() string {
	return fmt.Sprintf("token: Application Default Credentials %s (stage %d): %v", e.ADC.File, e.Stage, e.Err)
}

// Unwrap returns the cause.
func (e *ADCError) Unwrap() error { return e.Err }

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

// shownURL is u for a message: scheme, host and path, nothing else.
func shownURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return clean.Flatten(u, 120)
	}
	return p.Scheme + "://" + p.Host + p.Path
}

// excerpt makes a server's error body fit on one line of a message.
func excerpt(s string) string {
	return cmp.Or(clean.Flatten(s, 200), "(empty body)")
}

// oauth reads RFC 6749's error, error_description and Google's
// error_subtype, or a Google API error's status and message.
func oauth(body []byte) (code, desc, subtype string) {
	var o struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
		ErrorSubtype     string          `json:"error_subtype"`
	}
	if json.Unmarshal(body, &o) != nil {
		return "", excerpt(string(body)), ""
	}
	var s string
	if json.Unmarshal(o.Error, &s) == nil {
		return clean.Flatten(s, 60), clean.Flatten(o.ErrorDescription, 200), clean.Flatten(o.ErrorSubtype, 60)
	}
	var api struct {
		Message string `json:"message"`
		Status  string `json:"status"`
	}
	_ = json.Unmarshal(o.Error, &api)
	return clean.Flatten(api.Status, 60), clean.Flatten(api.Message, 200), ""
}
