package explain

import (
	"context"
	"errors"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// Peer is what a request went to, in the words that the failures every
// peer shares are told in.
type Peer struct {
	// Name is the peer and its address: "STS at https://sts.…".
	Name string
	// Kind and URL name it in a refusal to send in cleartext: "STS
	// endpoint", "http://localhost:8080".
	Kind, URL string
	// Normal says what a normal answer is, for one over the cap: "AWS STS
	// answers in a few KB".
	Normal string
	// Other is the hint for an answer that cannot be the peer's, and
	// Network the hints for a peer that did not answer in time.
	Other   string
	Network []string
	// Bearer is the credential the request carries: "the ID token".
	Bearer string
}

// Common words the failures every peer shares: the run's deadline, an
// interruption, an answer over its cap, a cleartext connection that left
// loopback. It returns nil for any other error. The deadline's own hint
// (what set it, as given) is added by Explain.
func Common(err error, p Peer) *Error {
	var tooLarge *transport.TooLargeError
	var notLoopback *transport.NotLoopbackError
	switch {
	case errors.As(err, &tooLarge):
		return Errorf(err, "the answer from %s is larger than %s; %s", p.Name, transport.Size(tooLarge.Limit), p.Normal).
			Hint(p.Other)
	case errors.As(err, &notLoopback):
		return Errorf(err, "refusing cleartext %s %s: its host name resolved to %s, which is not a loopback address, and %s is a bearer credential", p.Kind, p.URL, notLoopback.Addr, p.Bearer).
			Hint("use https://, or a loopback address such as http://127.0.0.1:PORT: a name like localhost is only as trustworthy as /etc/hosts and DNS")
	case errors.Is(err, context.DeadlineExceeded):
		return Errorf(err, "no answer from %s before the deadline", p.Name).
			Hint(p.Network...).
			AtDeadline()
	case errors.Is(err, context.Canceled):
		return Errorf(err, "interrupted while waiting for %s", p.Name)
	}
	return nil
}
