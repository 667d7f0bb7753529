package output

import (
	"io"
)

// Write writes b to w in one Write and fails if it fails or is short.
//
// A stdout that is /dev/null is written like any other: its opener chose to
// discard the document. A stdout closed at start cannot be told from that:
// the Go runtime opens /dev/null read-write in its place, as
// subprocess.DEVNULL does. A reader gone away fails the write: broken pipe.
func Write(w io.Writer, b []byte) error {
	n, err := w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	return err
}
