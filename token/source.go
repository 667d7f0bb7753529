package token

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/oauth2/google/externalaccount"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/regfile"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// An external_account file's subject token comes from a file, a URL or a
// program (credential_source). x/oauth2 reads each without a bound (a FIFO
// hangs its open, a child the program leaves behind holds the run, 100 MB
// of output is read whole) and its errors quote what it read, so
// subjectSupplier reads them instead, within the call's deadline, bounded.

// MaxSubjectToken bounds what a credential source may give: x/oauth2's own
// limit.
const MaxSubjectToken = 1 << 20

// The executable source's rules, as Google's client libraries have them.
const (
	// AllowExecutables must be "1" for a program to be run.
	AllowExecutables  = "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"
	executableDefault = 30 * time.Second
	executableMinimum = 5 * time.Second
	executableMaximum = 120 * time.Second
	// executableWaitDelay: a child the program left behind that keeps its
	// output open does not hold the run.
	executableWaitDelay = 500 * time.Millisecond
)

// SourceError says why an external_account file's credential source gave
// no subject token, without quoting what the source gave.
type SourceError struct {
	Kind  string // "file", "url" or "executable"
	Where string // the file, URL (as shown) or command
	// Why is what went wrong, or "" when the file Where (or, with
	// OutputFile, the program's output_file) could not be read: Err is
	// then regfile's.
	Why        string
	OutputFile bool
	// Err is the cause, when it quotes nothing the source gave.
	Err error
}

// Error names the source and says what went wrong.
func (e *SourceError) Error() string {
	if e.Why == "" {
		return fmt.Sprintf("the credential source %s %s: %v", e.Kind, e.Where, e.Err)
	}
	return fmt.Sprintf("the credential source %s %s: %s", e.Kind, e.Where, e.Why)
}

// Unwrap returns the cause.
func (e *SourceError) Unwrap() error { return e.Err }

// externalFile is what x/oauth2's Config takes of an external_account file.
type externalFile struct {
	Audience                       string `json:"audience"`
	SubjectTokenType               string `json:"subject_token_type"`
	TokenURL                       string `json:"token_url"`
	TokenInfoURL                   string `json:"token_info_url"`
	ServiceAccountImpersonationURL string `json:"service_account_impersonation_url"`
	ServiceAccountImpersonation    struct {
		TokenLifetimeSeconds int `json:"token_lifetime_seconds"`
	} `json:"service_account_impersonation"`
	ClientID                 string                           `json:"client_id"`
	ClientSecret             string                           `json:"client_secret"`
	CredentialSource         externalaccount.CredentialSource `json:"credential_source"`
	QuotaProjectID           string                           `json:"quota_project_id"`
	WorkforcePoolUserProject string                           `json:"workforce_pool_user_project"`
	UniverseDomain           string                           `json:"universe_domain"`
}

// supplied reports whether the file's credential source is one that
// subjectSupplier reads: a file, a URL or a program, and not AWS's.
func (f *externalFile) supplied() bool {
	cs := f.CredentialSource
	return cs.EnvironmentID == "" && (cs.File != "" || cs.URL != "" || cs.Executable != nil)
}

func (f *externalFile) config(scopes []string, hc *http.Client) externalaccount.Config {
	return externalaccount.Config{
		Audience:                       f.Audience,
		SubjectTokenType:               f.SubjectTokenType,
		TokenURL:                       f.TokenURL,
		TokenInfoURL:                   f.TokenInfoURL,
		ServiceAccountImpersonationURL: f.ServiceAccountImpersonationURL,
		ServiceAccountImpersonationLifetimeSeconds: f.ServiceAccountImpersonation.TokenLifetimeSeconds,
		ClientSecret:             f.ClientSecret,
		ClientID:                 f.ClientID,
		QuotaProjectID:           f.QuotaProjectID,
		Scopes:                   scopes,
		WorkforcePoolUserProject: f.WorkforcePoolUserProject,
		UniverseDomain:           f.UniverseDomain,
		SubjectTokenSupplier:     &subjectSupplier{f: f, hc: hc},
	}
}

// subjectSupplier is x/oauth2's SubjectTokenSupplier.
type subjectSupplier struct {
	f  *externalFile
	hc *http.Client // the call's, bounded, with the cleartext rules
}

// SubjectToken reads the source within ctx's deadline, and remembers the
// token for redaction before anyone can echo it.
func (s *subjectSupplier) SubjectToken(ctx context.Context, _ externalaccount.SupplierOptions) (string, error) {
	cs := s.f.CredentialSource
	var tok string
	var err error
	switch {
	case cs.File != "":
		tok, err = s.file(ctx, cs.File, cs.Format)
	case cs.URL != "":
		tok, err = s.url(ctx, cs.URL, cs.Headers, cs.Format)
	default:
		tok, err = s.executable(ctx, cs.Executable)
	}
	secret.New(tok)
	return tok, err
}

func (s *subjectSupplier) file(ctx context.Context, path string, format externalaccount.Format) (string, error) {
	deadline, _ := ctx.Deadline()
	b, err := regfile.Read(path, MaxSubjectToken, deadline)
	if err != nil {
		return "", &SourceError{Kind: "file", Where: path, Err: err}
	}
	return formatted(b, format, &SourceError{Kind: "file", Where: path})
}

func (s *subjectSupplier) url(ctx context.Context, u string, headers map[string]string, format externalaccount.Format) (string, error) {
	bad := &SourceError{Kind: "url", Where: shownURL(u)}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		bad.Why = "not a URL"
		return "", bad
	}
	for k, v := range headers {
		req.Header.Add(k, v)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return "", requestFailed(ctx, bad, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxSubjectToken+1))
	switch {
	case err != nil:
		return "", requestFailed(ctx, bad, err)
	case len(b) > MaxSubjectToken:
		bad.Why = "answered more than " + transport.Size(MaxSubjectToken)
		return "", bad
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		bad.Why = fmt.Sprintf("answered HTTP %d", resp.StatusCode)
		return "", bad
	}
	return formatted(b, format, bad)
}

// requestFailed says in e why a request to a URL source failed. Only the
// deadline or a cancellation is kept as its cause: the transport's error
// may quote what the peer said.
func requestFailed(ctx context.Context, e *SourceError, err error) error {
	tooLarge, isTooLarge := errors.AsType[*transport.TooLargeError](err)
	notLoopback, isNotLoopback := errors.AsType[*transport.NotLoopbackError](err)
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		e.Why = "no answer before the deadline"
	case isTooLarge:
		e.Why = "answered more than " + transport.Size(tooLarge.Limit)
	case errors.As(err, new(*transport.CleartextError)):
		e.Why = "plain http:// is accepted only on loopback and link-local addresses"
	case isNotLoopback:
		e.Why = notLoopback.Error()
	default:
		e.Why = "cannot reach it"
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		e.Err = context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		e.Err = context.Canceled
	}
	return e
}

// formatted takes the token out of what a file or URL source gave, as
// its format says, or returns e saying what is wrong, quoting nothing.
func formatted(b []byte, format externalaccount.Format, e *SourceError) (string, error) {
	b = bytes.TrimSpace(b)
	tok := string(b)
	switch format.Type {
	case "", "text":
	case "json":
		var v map[string]any
		if json.Unmarshal(b, &v) != nil {
			e.Why = "it is not a JSON object, as format.type \"json\" says"
			return "", e
		}
		s, ok := v[format.SubjectTokenFieldName].(string)
		if !ok {
			e.Why = fmt.Sprintf("its JSON has no string field %q (format.subject_token_field_name)", format.SubjectTokenFieldName)
			return "", e
		}
		tok = s
	default:
		e.Why = "format.type must be \"text\" or \"json\""
		return "", e
	}
	if tok == "" {
		e.Why = "it is empty"
		return "", e
	}
	return tok, nil
}

// executableResponse is what a credential program prints, or leaves in its
// output_file.
type executableResponse struct {
	Version        int    `json:"version"`
	Success        *bool  `json:"success"`
	TokenType      string `json:"token_type"`
	ExpirationTime int64  `json:"expiration_time"`
	IDToken        string `json:"id_token"`
	SamlResponse   string `json:"saml_response"`
	Code           string `json:"code"`
	Message        string `json:"message"`
}

func (s *subjectSupplier) executable(ctx context.Context, ec *externalaccount.ExecutableConfig) (string, error) {
	where := strings.TrimSpace(ec.Command)
	bad := func(why string, err error) error {
		return &SourceError{Kind: "executable", Where: where, Why: why, Err: err}
	}
	if where == "" {
		return "", bad("credential_source.executable has no command", nil)
	}
	limit := executableDefault
	if ec.TimeoutMillis != nil {
		limit = time.Duration(*ec.TimeoutMillis) * time.Millisecond
		if limit < executableMinimum || limit > executableMaximum {
			return "", bad("timeout_millis must be from 5000 to 120000", nil)
		}
	}
	if ec.OutputFile != "" {
		if tok, err := s.outputFile(ctx, ec.OutputFile); tok != "" || err != nil {
			return tok, err
		}
	}
	if os.Getenv(AllowExecutables) != "1" {
		return "", bad("programs are run only when "+AllowExecutables+"=1 is set", nil)
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	args := strings.Fields(where)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), s.executableEnv(ec)...)
	cmd.WaitDelay = executableWaitDelay
	var stdout, stderr capped
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return "", bad(fmt.Sprintf("it did not finish before the deadline (its timeout_millis is %d)", limit.Milliseconds()), context.DeadlineExceeded)
	case errors.As(err, &exit):
		return "", bad(fmt.Sprintf("it exited with status %d", exit.ExitCode()), nil)
	case err != nil && !errors.Is(err, exec.ErrWaitDelay):
		return "", bad("it could not be run: "+runErr(err), nil)
	case stdout.over || stderr.over:
		return "", bad("it printed more than "+transport.Size(MaxSubjectToken), nil)
	}
	out := bytes.TrimSpace(stdout.b.Bytes())
	if len(out) == 0 {
		out = bytes.TrimSpace(stderr.b.Bytes())
	}
	tok, why := parseExecutable(out, ec.OutputFile != "")
	if why != "" {
		return "", bad("its output "+why, nil)
	}
	return tok, nil
}

func runErr(err error) string {
	if ee, ok := errors.AsType[*exec.Error](err); ok {
		return ee.Err.Error()
	}
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		return pe.Err.Error()
	}
	return "start failed"
}

// outputFile reads the token a program left in its output_file, as
// Google's libraries do: a file that does not exist, is empty, has expired
// or records a failure gives neither a token nor an error, and the
// program is run.
func (s *subjectSupplier) outputFile(ctx context.Context, path string) (string, error) {
	deadline, _ := ctx.Deadline()
	b, err := regfile.Read(path, MaxSubjectToken, deadline)
	switch {
	case errors.As(err, new(*regfile.NotRegularError)) || errors.Is(err, context.DeadlineExceeded):
		return "", &SourceError{Kind: "executable", Where: path, OutputFile: true, Err: err}
	case err != nil || len(bytes.TrimSpace(b)) == 0:
		return "", nil
	}
	var r executableResponse
	if json.Unmarshal(b, &r) == nil && r.Success != nil && (!*r.Success || r.ExpirationTime != 0 && r.ExpirationTime < time.Now().Unix()) {
		return "", nil
	}
	tok, why := parseExecutable(bytes.TrimSpace(b), true)
	if why != "" {
		return "", &SourceError{Kind: "executable", Where: path, Why: "its output_file " + why}
	}
	return tok, nil
}

// executableEnv is what Google's libraries tell a credential program.
func (s *subjectSupplier) executableEnv(ec *externalaccount.ExecutableConfig) []string {
	env := []string{
		"GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE=" + s.f.Audience,
		"GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE=" + s.f.SubjectTokenType,
		"GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE=0",
	}
	if u := s.f.ServiceAccountImpersonationURL; strings.HasPrefix(u, "https://iamcredentials.") {
		if e := impersonatedEmail(u); e != "" {
			env = append(env, "GOOGLE_EXTERNAL_ACCOUNT_IMPERSONATED_EMAIL="+e)
		}
	}
	if ec.OutputFile != "" {
		env = append(env, "GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE="+ec.OutputFile)
	}
	return env
}

// parseExecutable takes the token out of a program's response. why says
// what is wrong, quoting nothing but a failure's own code and message,
// which the program writes for people.
func parseExecutable(b []byte, needExpiry bool) (tok, why string) {
	var r executableResponse
	switch {
	case json.Unmarshal(b, &r) != nil:
		return "", "is not a JSON response"
	case r.Version == 0:
		return "", "has no version"
	case r.Success == nil:
		return "", "has no success field"
	case !*r.Success && (r.Code == "" || r.Message == ""):
		return "", "reports a failure without a code and message"
	case !*r.Success:
		return "", fmt.Sprintf("reports a failure: %s: %s", r.Code, r.Message)
	case r.Version != 1:
		return "", fmt.Sprintf("has version %d; version 1 is supported", r.Version)
	case needExpiry && r.ExpirationTime == 0:
		return "", "has no expiration_time, which an output_file needs"
	case r.TokenType == "":
		return "", "has no token_type"
	case r.ExpirationTime != 0 && r.ExpirationTime < time.Now().Unix():
		return "", "holds a token that has expired"
	}
	field := "id_token"
	switch r.TokenType {
	case "urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:id_token":
		tok = r.IDToken
	case "urn:ietf:params:oauth:token-type:saml2":
		tok, field = r.SamlResponse, "saml_response"
	default:
		return "", "has an unsupported token_type"
	}
	if tok == "" {
		return "", "has no " + field
	}
	return tok, ""
}

// capped keeps the first MaxSubjectToken bytes written to it and counts
// the rest away, so a program that prints without end neither fills the
// memory nor blocks on a full pipe.
type capped struct {
	b    bytes.Buffer
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := MaxSubjectToken - c.b.Len(); len(p) > room {
		c.b.Write(p[:max(room, 0)])
		c.over = true
		return len(p), nil
	}
	return c.b.Write(p)
}
