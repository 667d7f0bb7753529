package explain

import (
	"context"
	"errors"
)

// interrupted words a request to peer ("STS at https://sts.…") that the
// run's deadline or an interruption ended, or returns nil. The deadline's
// own hint (what set it, as given) is added by Explain.
func interrupted(err error, peer string, network ...string) *Error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Errorf(err, "no answer from %s before the deadline", peer).
			Hint(network...).
			AtDeadline()
	case errors.Is(err, context.Canceled):
		return Errorf(err, "interrupted while waiting for %s", peer)
	}
	return nil
}
