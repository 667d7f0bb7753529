// Package regfile reads the small files a user names on the command line
// (a CA bundle, a token file) safely: only a regular file, only up to a
// size, and only until a deadline. A FIFO would block the open forever,
// /dev/zero would fill the memory, and a hung network file system would
// outlast any timeout of the caller's.
package regfile

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// TooLargeError is a file larger than the caller allows.
type TooLargeError struct{ Max int64 }

// Error says the file is too large, with the limit.
func (e *TooLargeError) Error() string { return fmt.Sprintf("file larger than %d bytes", e.Max) }

// NotRegularError is a path that names something other than a regular
// file; Kind says what ("a directory", "a named pipe", …).
type NotRegularError struct{ Kind string }

// Error says the path is not a regular file; Kind says what it is.
func (e *NotRegularError) Error() string { return "not a regular file" }

// Read returns the contents of the regular file at path, at most max
// bytes, or an error: *TooLargeError, *NotRegularError, the open's
// *fs.PathError, or context.DeadlineExceeded (wrapped) when the read has
// not finished by deadline (zero: no limit), which it finishes unwatched.
func Read(path string, max int64, deadline time.Time) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := read(path, max)
		done <- result{b, err}
	}()
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case r := <-done:
		return r.b, r.err
	case <-timeout:
		return nil, fmt.Errorf("reading %s: %w", path, context.DeadlineExceeded)
	}
}

// read opens without blocking, as a FIFO put in place after the check
// would otherwise block the open, and checks the file it opened, not only
// the name.
func read(path string, max int64) ([]byte, error) {
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if err := regular(fi, max); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := regular(fi, max); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if int64(len(b)) > max {
		return nil, &TooLargeError{max}
	}
	return b, err
}

func regular(fi os.FileInfo, max int64) error {
	m := fi.Mode()
	switch {
	case m.IsRegular() && fi.Size() > max:
		return &TooLargeError{max}
	case m.IsRegular():
		return nil
	case m.IsDir():
		return &NotRegularError{"a directory"}
	case m&os.ModeNamedPipe != 0:
		return &NotRegularError{"a named pipe"}
	case m&os.ModeDevice != 0:
		return &NotRegularError{"a device"}
	case m&os.ModeSocket != 0:
		return &NotRegularError{"a socket"}
	}
	return &NotRegularError{"not a plain file"}
}
