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

// Every error token returns is one of these, or has one in its chain: what
// went wrong with which peer or file, as data. internal/explain words them
// for the terminal; their Error methods are for logs and tests.

// IAMError is a failure of the IAM Credentials API: its endpoint refused
// before any request (Problem), or a generateIdToken call that got an
// error answer (Status, Google's Code and Message, cleaned), or none (Err,
// the run's deadline included when it ended the request).
type IAMError struct {
	Endpoint, Target string // Endpoint as it may be shown
	Delegates        []string
	Problem          transport.EndpointProblem
	Status           int
	Code, Message    string
	Tries            int  // requests made, retries included
	Caller           *ADC // whose access token was sent
	Err              error
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
// take: Peer ("metadata server", "IAM Credentials API") at its host or
// endpoint At answered no Want ("ID token", "access token") at all
// (Missing), one longer than STS accepts (Len), or a bad one (Err).
type AnswerError struct {
	Peer, At, Want string
	Missing        bool
	Len            int
	Err            error
}

// Error says what was wrong with the answer.
func (e *AnswerError) Error() string {
	return fmt.Sprintf("token: the %s at %s answered no usable %s (length %d): %v", e.Peer, e.At, e.Want, e.Len, e.Err)
}

// Unwrap returns why the answer is not a token.
func (e *AnswerError) Unwrap() error { return e.Err }

// MetadataError is a request to Host (MetadataHost) for the attached
// Account that failed: an answer that was an error (Status, 404 for an
// account not defined, and the start of its Body), or none (Status 0).
// Err is the metadata package's error.
type MetadataError struct {
	Host, Account string
	Status        int
	Body          string
	Err           error
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
	ADCToken ADCStage = iota // no access token from the token endpoint
	// ADCNone: FromEnv is not set, gcloud's well-known file (ADC.File) does
	// not exist, and the metadata server did not answer (Err is its
	// *MetadataError).
	ADCNone
	ADCRead   // the file could not be read (Err is regfile's)
	ADCJSON   // the file is not JSON
	ADCType   // the file's type (ADC.Type, cleaned) is not one taken here
	ADCUse    // x/oauth2 could not make a token source of the file
	ADCLength // the access token answered is empty or implausibly long
)

// ADCError is a failure of Application Default Credentials: finding,
// reading or using them, or getting an access token.
type ADCError struct {
	Stage ADCStage
	ADC   *ADC // File and From at every stage, the rest from ADCUse on
	Len   int  // of the access token answered (ADCLength)
	// Answer is the token endpoint's last failed request, if there was
	// one. When it has no Err, Code, Description and Subtype are RFC
	// 6749's error, error_description and Google's error_subtype of its
	// body, cleaned, and AtSource says it came from the token endpoint of
	// an impersonated_service_account file's source credentials (where a
	// login is refreshed).
	Answer                     *transport.Answer
	Code, Description, Subtype string
	AtSource                   bool
	Deadline                   bool // the run's context had ended
	Err                        error
}

// Error names the file and the cause.
func (e *ADCError) Error() string {
	return fmt.Sprintf("token: Application Default Credentials %s (stage %d): %v", e.ADC.File, e.Stage, e.Err)
}

// Unwrap returns the cause.
func (e *ADCError) Unwrap() error { return e.Err }

// HostError is a GCE_METADATA_HOST that is not host[:port]: its Value
// without user information, Why, and Fix, the host:port probably meant.
type HostError struct{ Value, Why, Fix string }

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
