package sts_test

import (
	"io"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// given is the command line the tests' messages are worded for.
var given = &fail.Given{Timeout: 2 * time.Second, As: map[string]string{"timeout": "--timeout 2s"}}

func init() {
	sts.Words = func(err error) string { return given.Explain(err).Error() }
	sts.Hints = func(err error) []string { return fail.Hints(given.Explain(err)) }
	sts.Print = func(w io.Writer, err error) { fail.Print(w, clean.Name, given.Explain(err)) }
}
