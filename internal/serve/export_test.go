package serve

import (
	"context"
	"strings"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
)

// What the tests read of a server's state beyond its HTTP surface.

// stats counts a refresher's exchanges, as /metrics does by result.
type stats struct {
	Calls, Refreshes, Failures int64
}

func (r *Refresher) Stats() stats {
	var s stats
	for i := range r.outcomes {
		s.Calls += r.outcomes[i].Load()
	}
	s.Refreshes = r.outcomes[0].Load()
	s.Failures = s.Calls - s.Refreshes
	return s
}

func (s *Server) Stats() stats { return s.ref.Stats() }

func (s *Server) Refresher() *Refresher { return s.ref }

// Addr is the address listened on, host:port.
func (s *Server) Addr() string {
	return strings.TrimSuffix(strings.TrimPrefix(s.url, "http://"), CredentialsPath)
}

// Credentials is what a request is answered with.
func (r *Refresher) Credentials(ctx context.Context) (awscred.Credentials, error) {
	h, err := r.current(ctx)
	if err != nil {
		return awscred.Credentials{}, err
	}
	return h.creds, nil
}

// Current returns the credentials held, servable or not, and whether
// there are any.
func (r *Refresher) Current() (awscred.Credentials, bool) {
	if h := r.last(); h != nil {
		return h.creds, true
	}
	return awscred.Credentials{}, false
}

// expires is when the credentials stop working, on the local clock.
func (p plan) expires() time.Time { return p.got.Add(p.life) }
