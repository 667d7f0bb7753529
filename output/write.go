package output

import (
	"io"
)

// Write writes b to w in one Write and fails if it fails or is short.
//
// A standard output that is /dev/null is written like any other: whoever
// started the process chose to discard the document (Python's
// subprocess.DEVNULL and bash's 1<>/dev/null open it read-write, a shell's
// >/dev/null write-only). A stdout closed at start cannot be told apart
// from those: the Go runtime opens /dev/null read-write in its place before
// any of our code runs, and the descriptor's flags, device and position are
// then the same as DEVNULL's. A reader that went away is caught by the
// write itself: broken pipe.
func Write(w io.Writer, b []byte) error {
	n, err := w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	return err
}
