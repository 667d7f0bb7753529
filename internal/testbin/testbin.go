// Package testbin builds the gcp-aws-cred binary for tests that must run the
// real thing: the CLI scripts, the SDK contract test, the no-files test and
// the end-to-end tests with the AWS CLI.
package testbin

import (
	"fmt"
	"io/fs"
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

// StatSources looks at every Go source and module file of the project from
// inside a running test. The go command's test cache records the files a
// test touches and reruns the test when one changes; without this, a test
// package that builds the binary in a subprocess (e2e) would keep a cached
// result after the code it tests changed. (Calls from TestMain, before
// m.Run, are not recorded.)
func StatSources() {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return
	}
	root := strings.TrimSpace(string(out))
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return nil
		case d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata"):
			return filepath.SkipDir
		case !d.IsDir() && (strings.HasSuffix(p, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum"):
			_, _ = os.Stat(p)
		}
		return nil
	})
}
