package sts_test

import (
	"io"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// given is the command line the tests' messages are worded for.
var given = &explain.Given{Timeout: 2 * time.Second, As: map[string]string{"timeout": "--timeout 2s"}}

func init() {
	sts.Words = func(err error) string { return given.Explain(err).Error() }
	sts.Hints = func(err error) []string { return explain.Hints(given.Explain(err)) }
	sts.Print = func(w io.Writer, err error) { explain.Print(w, clean.Name, given.Explain(err)) }
}
