package explain

import (
	"context"
	"errors"
	"io/fs"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/regfile"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// FileProblem says what went wrong reading a file through regfile, without
// the path that the message already names: the one mapping of regfile's
// errors to words.
func FileProblem(err error) string {
	var big *regfile.TooLargeError
	var irregular *regfile.NotRegularError
	var pe *fs.PathError
	switch {
	case errors.As(err, &big):
		return "larger than " + transport.Size(big.Max)
	case errors.As(err, &irregular):
		return "not a regular file (it is " + irregular.Kind + ")"
	case errors.Is(err, context.DeadlineExceeded):
		return "the read did not finish before the deadline"
	case errors.As(err, &pe):
		return pe.Err.Error()
	}
	return err.Error()
}

// File words a failure to read the file that what names ("CA bundle
// /etc/ca.pem"), with hint saying what the file must be.
func File(err error, what, hint string) *Error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Errorf(err, "reading %s did not finish before the deadline", what).
			Hint(hint + ", on a file system that answers")
	case errors.As(err, new(*regfile.TooLargeError)), errors.As(err, new(*regfile.NotRegularError)):
		return Errorf(err, "%s is %s", what, FileProblem(err)).Hint(hint)
	}
	return Errorf(err, "cannot read %s: %s", what, FileProblem(err)).Hint(hint)
}
