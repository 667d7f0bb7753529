package serve

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/regfile"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// TokenEnv is the variable the SDKs read the token from, and the one serve
// takes its token from when set, so that a pod can hand the same Secret to
// the server and to the application.
const TokenEnv = "AWS_CONTAINER_AUTHORIZATION_TOKEN"

// URIEnv is the variable the SDKs read the endpoint from.
const URIEnv = "AWS_CONTAINER_CREDENTIALS_FULL_URI"

// Token sources, for the log.
const (
	TokenFromEnv       = "the environment (" + TokenEnv + ")"
	TokenFromFile      = "--auth-token-file"
	TokenFromGenerator = "generated"
)

const (
	// maxTokenFile bounds what is read from --auth-token-file: a token is
	// a header value, and the server takes headers of 8 KiB at most.
	maxTokenFile = 4096
	// minToken is the shortest token accepted from the environment or a
	// file: anything shorter is a password someone typed, not a secret.
	minToken = 32
	// tokenFileTimeout bounds the reading of --auth-token-file, which
	// could be on a hung network file system.
	tokenFileTimeout = 5 * time.Second
)

// ResolveToken picks the authorization token: getenv(TokenEnv) when set,
// else the contents of file when given, else 32 random bytes, base64url.
// It returns where the token came from: TokenFromEnv, TokenFromFile or
// TokenFromGenerator. The file is only read.
func ResolveToken(getenv func(string) string, file string) (secret.String, string, error) {
	if v := getenv(TokenEnv); v != "" {
		tok, err := checkToken(v, TokenEnv)
		return tok, TokenFromEnv, err
	}
	if file != "" {
		b, err := readTokenFile(file)
		if err != nil {
			return secret.String{}, "", err
		}
		tok, err := checkToken(string(b), "--auth-token-file "+file)
		return tok, TokenFromFile, err
	}
	return newToken(), TokenFromGenerator, nil
}

// newToken is 32 random bytes, base64url: 43 characters.
func newToken() secret.String {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails: crypto/rand crashes the program instead
	return secret.New(base64.RawURLEncoding.EncodeToString(b))
}

// checkToken refuses what the SDKs would refuse or could not send. Go v2's
// endpointcreds provider and botocore's ContainerProvider both reject a
// token containing CR or LF; any other control character is not a valid
// header value, so no HTTP client sends it.
func checkToken(v, from string) (secret.String, error) {
	if strings.ContainsAny(v, "\r\n") {
		return secret.String{}, explain.Errorf(nil, "the token from %s contains a line break, which the AWS SDKs refuse to send", from).
			Hint("write the token without a trailing newline: printf '%s' \"$TOKEN\" > FILE, or echo -n")
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return secret.String{}, explain.Errorf(nil, "the token from %s contains a control character, which is not valid in an HTTP header", from).
				Hint("use printable characters only, such as the output of: head -c 32 /dev/urandom | base64")
		}
	}
	if strings.TrimSpace(v) != v {
		return secret.String{}, explain.Errorf(nil, "the token from %s starts or ends with white space, which HTTP clients strip from a header", from).
			Hint("remove the leading and trailing spaces")
	}
	if len(v) < minToken {
		return secret.String{}, explain.Errorf(nil, "the token from %s has %d characters; at least %d are required", from, len(v), minToken).
			Hint("the token is all that stands between local processes and the credentials: use 32 random bytes, such as: head -c 32 /dev/urandom | base64")
	}
	return secret.New(v), nil
}

// readTokenFile reads --auth-token-file: a regular file only (a FIFO or a
// device would block or never end), read within tokenFileTimeout.
func readTokenFile(file string) ([]byte, error) {
	hint := "the file holds the token clients send in the Authorization header; create it with: head -c 32 /dev/urandom | base64 | tr -d '\\n' > FILE"
	b, err := regfile.Read(file, maxTokenFile, time.Now().Add(tokenFileTimeout))
	_, big := errors.AsType[*regfile.TooLargeError](err)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		// serve names its own limit: the run has no deadline yet.
		return nil, explain.Errorf(context.DeadlineExceeded, "cannot read --auth-token-file %s: no answer within %s", file, tokenFileTimeout).
			Hint("the file system holding it may be hung (a network mount?); keep the token on a local file system such as /run")
	case big:
		return nil, explain.Errorf(nil, "--auth-token-file %s is larger than %d bytes", file, maxTokenFile).
			Hint("the file must hold the token alone; 32 to 64 random characters are plenty")
	case err != nil:
		return nil, explain.File(err, "--auth-token-file "+file, hint)
	}
	return b, nil
}

// authorized compares the request's Authorization header with the token
// in constant time, hashing both first so that a length mismatch does not
// return early either. The SDKs send the token verbatim, without a scheme
// such as "Bearer".
func authorized(header []string, token secret.String) bool {
	if len(header) != 1 {
		return false
	}
	got := sha256.Sum256([]byte(header[0]))
	want := sha256.Sum256([]byte(token.Reveal()))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// ListenAddr checks a --listen value and returns the address to listen on.
// Only loopback is accepted: 127.0.0.0/8, ::1, or localhost, which is
// taken to mean 127.0.0.1 rather than looked up, because /etc/hosts could
// point it anywhere.
func ListenAddr(listen string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return netip.AddrPort{}, explain.Errorf(err, "--listen %q is not HOST:PORT", listen).
			Hint("for example --listen 127.0.0.1:9911, or 127.0.0.1:0 for any free port")
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, explain.Errorf(err, "--listen %q has no valid port", listen).
			Hint("the port is a number from 0 to 65535; 0 picks a free one")
	}
	var ip netip.Addr
	if strings.EqualFold(host, "localhost") {
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	} else if ip, err = netip.ParseAddr(host); err != nil || ip.Zone() != "" {
		return netip.AddrPort{}, refuseListen(listen)
	}
	ip = ip.Unmap()
	if !ip.IsLoopback() {
		return netip.AddrPort{}, refuseListen(listen)
	}
	return netip.AddrPortFrom(ip, uint16(n)), nil
}

func refuseListen(listen string) error {
	return explain.Errorf(nil, "refusing to listen on %s: the credentials endpoint listens on loopback only", listen).
		Hint("use 127.0.0.1:PORT, [::1]:PORT or localhost:PORT; the containers of a Kubernetes pod share loopback, so a sidecar needs nothing more",
			"the AWS SDKs accept a plain-http endpoint only on loopback (or the ECS and EKS link-local addresses), and the token would cross the network in cleartext")
}

// hosts returns the Host header values a request to addr may carry: the
// address itself, and the loopback names for its port. Anything else is a
// request a browser made for another site's name that resolved here (DNS
// rebinding).
func hosts(addr netip.AddrPort) map[string]bool {
	port := strconv.Itoa(int(addr.Port()))
	ok := map[string]bool{
		addr.String():                       true,
		net.JoinHostPort("127.0.0.1", port): true,
		net.JoinHostPort("::1", port):       true,
		net.JoinHostPort("localhost", port): true,
	}
	if addr.Port() == 80 {
		// Clients leave the default port out of Host.
		for h := range ok {
			ok[strings.TrimSuffix(h, ":80")] = true
		}
	}
	return ok
}

// refuse logs a request refused for want of the right token: the first at
// once, then at most a line a minute with the count (see tally).
func (s *Server) refuse(r *http.Request) {
	n, first := s.refused.add(1)
	if n == 0 {
		return
	}
	why := "no Authorization header"
	switch v := r.Header.Values("Authorization"); {
	case len(v) > 1:
		why = "more than one Authorization header"
	case len(v) == 1:
		why = "a wrong token"
	}
	msg := fmt.Sprintf("refused a request with %s from %s (HTTP 401); further refusals are counted and logged at most once a minute", why, r.RemoteAddr)
	if !first {
		msg = fmt.Sprintf("refused %d %s without the right token in the last %s (HTTP 401); the latest had %s, from %s",
			n, plural(n, "request"), logInterval, why, r.RemoteAddr)
	}
	s.ref.log.Warn(msg, keyEvent, "unauthorized", "count", n, "remote", r.RemoteAddr)
}
