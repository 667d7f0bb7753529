package token_test

import (
	"io"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

func init() {
	token.Explain = func(timeout time.Duration, err error) error {
		g := &explain.Given{}
		if timeout != 0 {
			g = &explain.Given{Timeout: timeout, As: map[string]string{"timeout": "--timeout " + timeout.String()}}
		}
		return g.Explain(err)
	}
	token.Print = func(w io.Writer, err error) { explain.Print(w, clean.Name, token.Explain(0, err)) }
	token.Hints = func(err error) []string { return explain.Hints(token.Explain(0, err)) }
}
