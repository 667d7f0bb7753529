//go:build unix

package agent

import (
	"os"
	"syscall"
)

// ownerOf is the user that owns the file fi describes.
func ownerOf(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
