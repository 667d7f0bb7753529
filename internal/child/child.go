// Package child runs the command given to exec and exec --serve: it finds
// the command, builds its environment, starts it, passes signals on, and
// turns its end into the exit status a shell would give (its own, 128+N
// for signal N, 127 not found, 126 not executable). Both commands share
// these rules, so they cannot disagree on what any of them means.
package child

import (
	"errors"
	"io/fs"
	"os/exec"
	"runtime"
	"slices"
	"strings"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
)

// Statuses for a command that never ran, as POSIX shells give them.
const (
	notFound = 127 // not in PATH, or no such file
	// notExecutable: found but not started: no permission, a directory, a
	// file for another system, a missing #! interpreter.
	notExecutable = 126
)

// statusError is a command that could not be run, with a shell's status.
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// ExitCode is the status to exit with.
func (e *statusError) ExitCode() int { return e.status }

// Look finds name as a shell would (in PATH unless it holds a slash) and
// says what to do when that fails. It is called before any STS exchange:
// a typo should not cost one.
func Look(name string) (string, error) {
	path, err := exec.LookPath(name)
	switch {
	case err == nil:
		return path, nil
	case errors.Is(err, exec.ErrNotFound):
		return "", explain.Errorf(&statusError{notFound, err}, "command %q not found in PATH", name).
			Hint("check the spelling, or give the command's full path")
	}
	status := notExecutable
	if errors.Is(err, fs.ErrNotExist) {
		status = notFound
	}
	return "", explain.Errorf(&statusError{status, err}, "cannot run %q: %v", name, explain.Cause(err)).
		Hint("check that the file exists and is executable")
}

// startError words a command found by Look that the system would not
// start: a file for another system, or a missing #! interpreter (which the
// system reports as "no such file").
func startError(path string, err error) error {
	return explain.Errorf(&statusError{notExecutable, err}, "cannot run %s: %v", path, explain.Cause(err)).
		Hint("check that the file is an executable for this system, and that its #! interpreter exists")
}

// Env is the command's environment: environ without the variables named
// in hide, then set (each "NAME=value"), then the region when given.
//
// Names in hide match in any case: no SDK reads a lower-case variant, and
// Windows does not tell them apart. A variable given twice keeps its last
// value, as os/exec would: syscall.Exec passes duplicates on, and programs
// disagree on which one they read.
//
// A region sets both AWS_REGION and AWS_DEFAULT_REGION, replacing any in
// environ, as serve prints both: botocore reads only AWS_DEFAULT_REGION and
// the other SDKs AWS_REGION first, so keeping either could leave a client
// with another region, or none.
func Env(environ, hide, set []string, region string) []string {
	drop := make(map[string]bool, len(hide)+len(set))
	for _, k := range hide {
		drop[strings.ToUpper(k)] = true
	}
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		drop[strings.ToUpper(k)] = true
	}
	if region != "" {
		drop["AWS_REGION"], drop["AWS_DEFAULT_REGION"] = true, true
	}
	seen := make(map[string]bool, len(environ))
	env := make([]string, 0, len(environ)+len(set)+2)
	for _, kv := range slices.Backward(environ) {
		k, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(k)
		if runtime.GOOS == "windows" {
			k = upper
		}
		if drop[upper] || seen[k] {
			continue
		}
		seen[k] = true
		env = append(env, kv)
	}
	slices.Reverse(env)
	env = append(env, set...)
	if region != "" {
		env = append(env, "AWS_REGION="+region, "AWS_DEFAULT_REGION="+region)
	}
	return env
}
