// Package testbin builds the gcp-aws-cred binary for tests that must run the
// real thing: the CLI scripts, the SDK contract test, the no-files test and
// the end-to-end tests with the AWS CLI.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Build compiles the main package into a new temporary directory and returns
// the binary's path and a function that removes the directory.
func Build() (bin string, cleanup func(), err error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", nil, fmt.Errorf("go list -m: %w", err)
	}
	root := strings.TrimSpace(string(out))
	dir, err := os.MkdirTemp("", "gcp-aws-cred-bin-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	bin = filepath.Join(dir, "gcp-aws-cred")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go build: %v\n%s", err, b)
	}
	return bin, cleanup, nil
}
