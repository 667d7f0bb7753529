package output

import (
	"errors"
	"io"
	"os"
)

// ErrStdoutClosed says the process started with its standard output closed.
var ErrStdoutClosed = errors.New("standard output was closed when the process started, so the document would go nowhere")

// Write writes b to w in one Write and fails if it fails or is short. When
// w is this process's standard output and that was closed as the process
// started, it fails without writing: the Go runtime then opens /dev/null in
// its place, and the document would vanish while the run exits 0.
func Write(w io.Writer, b []byte) error {
	if f, ok := w.(*os.File); ok && f == os.Stdout && droppedAtStart(f) {
		return ErrStdoutClosed
	}
	n, err := w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	return err
}
