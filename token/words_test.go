package token_test

import (
	"io"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

func init() {
	token.Explain = func(timeout time.Duration, err error) error {
		g := &fail.Given{}
		if timeout != 0 {
			g = &fail.Given{Timeout: timeout, As: map[string]string{"timeout": "--timeout " + timeout.String()}}
		}
		return g.Explain(err)
	}
	token.Print = func(w io.Writer, err error) { fail.Print(w, clean.Name, token.Explain(0, err)) }
	token.Hints = func(err error) []string { return fail.Hints(token.Explain(0, err)) }
}
