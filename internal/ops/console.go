package ops

import (
	"cmp"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
	"github.com/gcp-aws-cred/gcp-aws-cred/output"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// The sign-in link follows AWS's "custom identity broker" flow: the
// partition's federation endpoint trades the credentials for a sign-in
// token, and the link is its login action with that token. The token and
// the link are bearer secrets: registered for redaction the moment they
// exist, never traced (the trace leaves queries out), never written to a
// file. SessionDuration is never sent: the console session of AssumeRole*
// credentials lasts as long as they do (--duration), and the endpoint
// refuses it for a role session's credentials (role chaining).

// consoles are the partitions' sign-in federation endpoints and console
// home pages (REGION to fill).
var consoles = map[string]struct{ federation, home string }{
	"aws":        {"https://signin.aws.amazon.com/federation", "https://REGION.console.aws.amazon.com/console/home?region=REGION"},
	"aws-us-gov": {"https://signin.amazonaws-us-gov.com/federation", "https://console.amazonaws-us-gov.com/console/home?region=REGION"},
	"aws-cn":     {"https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/console/home?region=REGION"},
}

// maxSigninAnswer bounds the federation endpoint's answer: a sign-in token
// is about 1 KB.
const maxSigninAnswer = 64 << 10

// Console is the console command's own flags: where the sign-in link
// leads, and whether it is printed instead of opened.
type Console struct {
	FederationEndpoint string `name:"federation-endpoint" help:"Sign-in federation endpoint, the whole URL; default the role's partition's (https://signin.aws.amazon.com/federation, https://signin.amazonaws-us-gov.com/federation, https://signin.amazonaws.cn/federation). http:// only on loopback." placeholder:"URL"`
	Destination        string `help:"Console page to land on; default the console home of the STS region." placeholder:"URL"`
	Stdout             bool   `name:"stdout" help:"Print the sign-in link instead of opening a browser (the default where there is no display). Prefer it on shared hosts: an opener's arguments are visible to local users."`
}

// check checks the endpoint and destination before any call, and fills
// in their defaults for o's partition and the STS region.
func (c *Console) check(o *cred.Options, region string) (endpoint, destination string, err error) {
	p := cred.Partition(o.Role) // a chain stays in the partition of its first role
	endpoint = c.FederationEndpoint
	if endpoint == "" {
		if endpoint = consoles[p].federation; endpoint == "" {
			return "", "", explain.Errorf(nil, "no sign-in federation endpoint is known for the %s partition of %s", p, o.Role).
				Hint("pass the whole URL of its endpoint with --federation-endpoint")
		}
	} else if endpoint, err = checkFederationEndpoint(endpoint); err != nil {
		return "", "", err
	}
	destination = c.Destination
	if destination == "" {
		home := consoles[p].home
		if home == "" {
			return "", "", explain.Errorf(nil, "no console home page is known for the %s partition of %s", p, o.Role).
				Hint("pass the page to land on with --destination URL")
		}
		return endpoint, strings.ReplaceAll(home, "REGION", region), nil
	}
	if u, perr := url.Parse(destination); perr != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return "", "", explain.Errorf(perr, "--destination %q is not an https:// URL", destination).
			Hint("give the console page to land on, like https://us-east-1.console.aws.amazon.com/s3/home?region=us-east-1")
	}
	return endpoint, destination, nil
}

// checkFederationEndpoint refuses an override that would send the
// credentials in cleartext beyond this machine, as the STS and IAM
// Credentials endpoint overrides do.
func checkFederationEndpoint(raw string) (string, error) {
	u, problem := transport.CheckEndpoint(raw)
	switch problem {
	case transport.EndpointOK:
		return u.String(), nil
	case transport.EndpointUserInfo:
		return "", explain.Errorf(nil, "--federation-endpoint %s carries user information; refusing it", u.Scheme+"://"+u.Host).
			Hint("remove user:password@ from the URL")
	case transport.EndpointCleartext:
		return "", explain.Errorf(nil, "refusing cleartext federation endpoint %s: the credentials and the sign-in token would cross the network unencrypted", raw).
			Hint("use https://; http:// is accepted only for loopback addresses (127.0.0.1, ::1, localhost), for tests")
	}
	return "", explain.Errorf(nil, "--federation-endpoint %q is not an http(s) URL without a query", raw).
		Hint("give the whole URL of the endpoint, like https://signin.aws.amazon.com/federation")
}

// signinLink gets a sign-in token for creds at endpoint and returns the
// link that signs in and lands on destination.
func signinLink(ctx context.Context, client *http.Client, creds awscred.Credentials, endpoint, destination string, trace *transport.Tracer) (secret.String, error) {
	session, _ := json.Marshal(map[string]string{
		"sessionId":    creds.AccessKeyID,
		"sessionKey":   creds.SecretAccessKey.Reveal(),
		"sessionToken": creds.SessionToken.Reveal(),
	})
	// The request's URL carries the keys: registered, with its URL
	// encoding, so that no message that quotes it can show them.
	secret.New(string(session))
	q := url.Values{"Action": {"getSigninToken"}, "Session": {string(session)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?"+q, nil)
	if err != nil {
		return secret.String{}, explain.Errorf(nil, "cannot build the sign-in request for %s", endpoint)
	}
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		// A *url.Error quotes the whole URL, keys included: only its cause
		// is shown.
		if uerr, ok := errors.AsType[*url.Error](err); ok {
			err = uerr.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return secret.String{}, explain.Errorf(err, "no answer from the federation endpoint %s before the deadline", endpoint).
				AtDeadline()
		}
		return secret.String{}, explain.Errorf(err, "cannot reach the federation endpoint %s: %s", endpoint, clean.Flatten(explain.Cause(err), 200)).
			Hint("check that this machine can reach it (firewall, proxy: HTTPS_PROXY), or give another with --federation-endpoint")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if _, ok := errors.AsType[*transport.TooLargeError](err); ok {
		return secret.String{}, explain.Errorf(err, "the answer from the federation endpoint %s is larger than %s; a sign-in token is about 1 KB", endpoint, transport.Size(maxSigninAnswer))
	}
	if err != nil {
		return secret.String{}, explain.Errorf(err, "cannot read the answer of the federation endpoint %s: %s", endpoint, clean.Flatten(explain.Cause(err), 200))
	}
	ctype := cmp.Or(clean.Flatten(resp.Header.Get("Content-Type"), 100), "no content type")
	if resp.StatusCode != http.StatusOK {
		e := explain.Errorf(nil, "the federation endpoint %s refused the sign-in request (HTTP %d, %s): %s", endpoint, resp.StatusCode, ctype, clean.Flatten(secret.Redact(text(body)), 200))
		if resp.StatusCode == http.StatusBadRequest {
			return secret.String{}, e.Hint("AWS answers \"Invalid credentials parameter\" for credentials it does not accept: credentials of an expired session, or from an endpoint that is not AWS STS (check --sts-endpoint, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL)")
		}
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			return secret.String{}, e.Hint("the federation endpoint does not redirect: a proxy or captive portal answered; the request carries the credentials, so it is not followed")
		}
		return secret.String{}, e
	}
	var answer struct{ SigninToken string }
	if err := json.Unmarshal(body, &answer); err != nil || answer.SigninToken == "" {
		what := "is not JSON"
		if err == nil {
			what = "has no SigninToken"
		}
		return secret.String{}, explain.Errorf(err, "the answer from the federation endpoint %s (HTTP 200, %s) %s", endpoint, ctype, what).
			Hint("AWS answers {\"SigninToken\": …}; something else answered: a captive portal or proxy page, or an endpoint given by --federation-endpoint that is not AWS's")
	}
	token := secret.New(answer.SigninToken) // and its URL encoding, as in the link
	trace.Printf("federation endpoint: sign-in token of %d characters, after %s", len(token.Reveal()), transport.Duration(time.Since(start)))
	link := endpoint + "?" + url.Values{"Action": {"login"}, "Destination": {destination}, "SigninToken": {token.Reveal()}}.Encode()
	return secret.New(link), nil
}

// text is a peer's body for a message: the start of it, HTML tags dropped.
func text(b []byte) string {
	if len(b) > 4096 {
		b = b[:4096]
	}
	var out strings.Builder
	in := false
	for _, r := range string(b) {
		switch {
		case r == '<':
			in = true
			out.WriteByte(' ')
		case r == '>':
			in = false
		case !in:
			out.WriteRune(r)
		}
	}
	if s := strings.TrimSpace(out.String()); s != "" {
		return s
	}
	return "(no text)"
}

// federationClient is the HTTP client for the federation endpoint, under
// STS's policy, CA bundle included: a TLS-inspecting proxy in front of STS
// is in front of this endpoint too.
func federationClient(ctx context.Context, o *cred.Options, endpoint string, trace *transport.Tracer) (*http.Client, error) {
	var pool *x509.CertPool
	if o.CABundle != "" && strings.HasPrefix(endpoint, "https://") {
		deadline, _ := ctx.Deadline()
		var err error
		if pool, err = sts.LoadCABundle(o.CABundle, deadline); err != nil {
			return nil, err
		}
	}
	return transport.NewClient(transport.Policy{Peer: "federation endpoint", MaxBody: maxSigninAnswer, Proxy: true, RootCAs: pool, Trace: trace}), nil
}

// opener is the platform's command that opens a URL in the browser, or ""
// where no browser can be shown: on Linux and the BSDs, when neither
// DISPLAY nor WAYLAND_DISPLAY is set (an SSH session, a container, a
// server).
func opener() (string, []string) {
	switch runtime.GOOS {
	case "darwin":
		return "open", nil
	case "windows":
		return "rundll32", []string{"url.dll,FileProtocolHandler"}
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return "", nil
	}
	return "xdg-open", nil
}

// openBrowser opens link with the platform's opener and waits for it (an
// opener hands the link to the browser and exits). The link is an argument
// of the opener while it runs: visible to local users in the process list,
// which docs/console.md says, with --stdout for shared hosts.
func openBrowser(ctx context.Context, name string, args []string, link secret.String) error {
	path, err := exec.LookPath(name)
	if err != nil {
		return explain.Errorf(err, "cannot open a browser: %s is not on PATH", name).
			Hint(printInstead)
	}
	// Not tied to ctx: the browser it may start must outlive this run. Its
	// output goes to the null device (exec's default): stdout stays empty.
	cmd := exec.Command(path, append(args, link.Reveal())...)
	if err := cmd.Start(); err != nil {
		return explain.Errorf(nil, "cannot run %s to open the sign-in link: %s", name, clean.Flatten(explain.Cause(err), 100)).
			Hint(printInstead)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Openers hand the link over and exit; some wait for a browser they
	// started. A failure shows within seconds; after that it is left to run.
	select {
	case err := <-done:
		if err != nil {
			// An *exec.ExitError's text holds no argument; the command line
			// is never quoted.
			return explain.Errorf(nil, "%s could not open the sign-in link: %s", name, clean.Flatten(explain.Cause(err), 100)).
				Hint(printInstead)
		}
	case <-time.After(openerGrace):
	case <-ctx.Done():
	}
	return nil
}

const (
	// openerGrace is how long openBrowser waits for the opener to fail.
	openerGrace  = 3 * time.Second
	printInstead = "pass --stdout to print the sign-in link instead, and open it yourself"
)

// Run gets o's credentials (exchange and chain) and opens the sign-in link
// in the browser, or prints it.
func (c *Console) Run(ctx context.Context, o *cred.Options, stdout io.Writer) error {
	link, err := c.link(ctx, o)
	if err != nil {
		return err
	}
	if name, args := opener(); !c.Stdout && name != "" {
		return openBrowser(ctx, name, args, link)
	}
	if err := output.Write(stdout, []byte(link.Reveal()+"\n")); err != nil {
		return explain.Errorf(err, "cannot write the sign-in link to stdout: %v", err).
			Hint("run it with stdout open, or without --stdout where a browser can be opened")
	}
	return nil
}

func (c *Console) link(ctx context.Context, o *cred.Options) (secret.String, error) {
	flow, err := cred.New(o)
	if err != nil {
		return secret.String{}, err
	}
	endpoint, destination, err := c.check(o, flow.STS.Region)
	if err != nil {
		return secret.String{}, err
	}
	client, err := federationClient(ctx, o, endpoint, flow.Trace)
	if err != nil {
		return secret.String{}, err
	}
	creds, err := flow.Credentials(ctx)
	if err != nil {
		return secret.String{}, err
	}
	return signinLink(ctx, client, creds, endpoint, destination, flow.Trace)
}
