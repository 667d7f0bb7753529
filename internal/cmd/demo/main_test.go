package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestSaysWhatItDoesFirst: the demo says it is starting the fakes and
// building before it runs the go command, which on a fresh machine takes a
// minute. The go command here is a stand-in that only fails, so nothing
// the demo prints can come from after the build.
func TestSaysWhatItDoesFirst(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("a shell script as go")
	}
	dir := t.TempDir()
	demo := filepath.Join(dir, "demo")
	if out, err := exec.Command("go", "build", "-o", demo, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fakeBin := filepath.Join(dir, "bin")
	if err := os.Mkdir(fakeBin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fakeBin, "go"), []byte("#!/bin/sh\necho 'no go here' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(demo)
	cmd.Env = append(os.Environ(), "PATH="+fakeBin+string(os.PathListSeparator)+"/usr/bin:/bin")
	out, err := cmd.Output()
	if err == nil {
		t.Fatal("the demo succeeded without a go command")
	}
	want := "# starting a fake metadata server and a fake STS on loopback\n" +
		"# building gcp-aws-cred with go build (the first time, this downloads modules and may take a minute)\n"
	if string(out) != want {
		t.Errorf("stdout before the build:\n%s\nwant:\n%s", out, want)
	}
	if ee, ok := err.(*exec.ExitError); !ok || !strings.Contains(string(ee.Stderr), "demo: go list -m") {
		t.Errorf("err = %v", err)
	}
}
