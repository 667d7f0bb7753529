//go:build unix

package token

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestADCFileHostile: an ADC path that names a FIFO, a device or a huge
// file is refused at once, without blocking or filling the memory.
func TestADCFileHostile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFO here:", err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, []byte(`{"type":"authorized_user","x":"`+strings.Repeat("a", MaxADCFile)+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		fifo:        "cannot read the Application Default Credentials file " + fifo + " (from GOOGLE_APPLICATION_CREDENTIALS): not a regular file",
		"/dev/zero": "cannot read the Application Default Credentials file /dev/zero (from GOOGLE_APPLICATION_CREDENTIALS): not a regular file",
		big:         "cannot read the Application Default Credentials file " + big + " (from GOOGLE_APPLICATION_CREDENTIALS): larger than 64 KiB",
		dir:         "cannot read the Application Default Credentials file " + dir + " (from GOOGLE_APPLICATION_CREDENTIALS): not a regular file",
	} {
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
		_, err := FindADC(context.Background(), nil, "default")
		assertFailure(t, err, want)
	}
}
