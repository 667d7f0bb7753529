package main

import (
	"runtime"
	"testing"
)

// TestVersionStamped: what a release build prints, from the stamps. The
// unstamped forms are in testdata/script/success.txtar (this test binary
// has none) and e2e/release_test.go builds the release binary itself.
func TestVersionStamped(t *testing.T) {
	defer func(v, c, d string) { version, commit, date = v, c, d }(version, commit, date)
	version, commit, date = "v1.2.3", "0123456789abcdef0123456789abcdef01234567", "2026-11-29T02:13:00Z"
	want := "gcp-aws-cred v1.2.3\ncommit:   0123456789abcdef0123456789abcdef01234567\ndate:     2026-11-29T02:13:00Z\ngo:       " +
		runtime.Version() + "\nplatform: " + runtime.GOOS + "/" + runtime.GOARCH
	if got := versionString(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
