package e2e

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/testbin"
)

// The release build, as .goreleaser.yaml defines it. TestReleaseConfig
// checks the configuration still says exactly this, so the tests below
// build what a release builds.
const (
	releaseLdflags = "-s -w -X main.version=v{{ .Version }} -X main.commit={{ .FullCommit }} -X main.date={{ .CommitDate }}"
	releaseTags    = "nethttpomithttp2"
	// The linux/amd64 release binary's limit: 12 MB, a guard against a
	// heavy dependency slipping in, not a target to shave bytes for.
	maxReleaseSize = 12_000_000
	// What the tests stamp as the version.
	stampVersion = "1.2.3-e2e"
)

var releaseFlags = []string{"-trimpath", "-buildvcs=true"}

// TestReleaseConfig keeps .goreleaser.yaml's build in step with the flags
// these tests build with: the reproducibility and --version tests are only
// worth something if they build what a release builds.
func TestReleaseConfig(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	want := []string{
		"- CGO_ENABLED=0",
		"goos: [linux, darwin, windows]",
		"goarch: [amd64, arm64]",
		"- " + releaseTags,
		"- " + releaseLdflags,
		// File times from the commit, not the clock.
		`mod_timestamp: "{{ .CommitTimestamp }}"`,
	}
	for _, f := range releaseFlags {
		want = append(want, "- "+f)
	}
	for _, w := range want {
		if !lines[w] {
			t.Errorf(".goreleaser.yaml has no line %q", w)
		}
	}
}

// release is HEAD of the repository, cloned, and its release binaries.
type release struct {
	commit string // full hash of HEAD
	date   string // its commit time as goreleaser's .CommitDate: RFC 3339, UTC
	src    string // a clean clone of HEAD

	mu   sync.Mutex
	bins map[string]string // GOOS/GOARCH → binary built from src with the shared build cache
}

// headRelease clones HEAD into dir for the release tests. They build from
// a clean clone, as a release does: uncommitted changes in the working tree
// are not in it.
func headRelease(t *testing.T, dir string) *release {
	t.Helper()
	if testing.Short() {
		t.Skip("release builds skipped in -short mode")
	}
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("git not found (CI=true: a missing tool is a failure, not a skip)")
		}
		t.Skip("git not found")
	}
	testbin.StatSources()
	r, err := cloneHEAD(moduleRoot(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("git", "-C", moduleRoot(t), "status", "--porcelain", "--untracked-files=no").Output(); len(out) > 0 {
		t.Logf("the working tree has uncommitted changes; these tests build HEAD %.12s without them", r.commit)
	}
	return r
}

// cloneHEAD clones root's HEAD to dir/gcp-aws-cred.
func cloneHEAD(root, dir string) (*release, error) {
	git := func(dir string, args ...string) (string, error) {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	commit, err := git(root, "rev-parse", "HEAD")
	if err != nil {
		return nil, err
	}
	ct, err := git(root, "show", "-s", "--format=%ct", "HEAD")
	if err != nil {
		return nil, err
	}
	sec, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("commit time %q: %v", ct, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	src := filepath.Join(dir, "gcp-aws-cred")
	if _, err := git(dir, "clone", "--quiet", "--no-hardlinks", root, src); err != nil {
		return nil, err
	}
	return &release{
		commit: commit,
		date:   time.Unix(sec, 0).UTC().Format(time.RFC3339),
		src:    src,
		bins:   map[string]string{},
	}, nil
}

// build compiles the release binary for goos/goarch from the source tree
// src into out, with the release flags and stamps, as goreleaser does.
// gocache, if not empty, replaces the build cache.
func (r *release) build(src, goos, goarch, out, gocache string) error {
	ldflags := strings.NewReplacer(
		"{{ .Version }}", stampVersion,
		"{{ .FullCommit }}", r.commit,
		"{{ .CommitDate }}", r.date,
	).Replace(releaseLdflags)
	args := append([]string{"build"}, releaseFlags...)
	args = append(args, "-tags", releaseTags, "-ldflags", ldflags, "-o", out, ".")
	cmd := exec.Command("go", args...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(),
		"GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0",
		// goreleaser's defaults, whatever this environment says.
		"GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=",
	)
	if gocache != "" {
		cmd.Env = append(cmd.Env, "GOCACHE="+gocache)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s (%s/%s in %s): %v\n%s", strings.Join(args, " "), goos, goarch, src, err, b)
	}
	return nil
}

// binary returns the release binary for goos/goarch built from the clone,
// building it once.
func (r *release) binary(t *testing.T, goos, goarch string) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	key := goos + "/" + goarch
	if bin, ok := r.bins[key]; ok {
		return bin
	}
	bin := filepath.Join(filepath.Dir(r.src), "bin", goos+"_"+goarch, "gcp-aws-cred")
	if goos == "windows" {
		bin += ".exe"
	}
	if err := r.build(r.src, goos, goarch, bin, ""); err != nil {
		t.Fatal(err)
	}
	r.bins[key] = bin
	return bin
}

// TestRelease builds the release binary the way .goreleaser.yaml does, from
// a clean clone of HEAD, and checks it.
func TestRelease(t *testing.T) {
	r := headRelease(t, t.TempDir())
	t.Run("reproducible", r.testReproducible)
	t.Run("version", r.testVersion)
	t.Run("size", r.testSize)
}

// testReproducible builds the linux/amd64 release binary a second time, from
// another clean clone at another path and with an empty build cache so that
// nothing is reused, and requires the same bytes. It also checks that no
// build path got into the binary.
func (r *release) testReproducible(t *testing.T) {
	first := r.binary(t, "linux", "amd64")

	// Another directory depth and name, so a leaked path would show.
	other, err := cloneHEAD(moduleRoot(t), filepath.Join(t.TempDir(), "elsewhere"))
	if err != nil {
		t.Fatal(err)
	}
	src := other.src
	second := filepath.Join(t.TempDir(), "gcp-aws-cred")
	start := time.Now()
	if err := r.build(src, "linux", "amd64", second, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	t.Logf("second build, from an empty build cache: %v", time.Since(start).Round(time.Second))

	a, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		at := 0
		for at < len(a) && at < len(b) && a[at] == b[at] {
			at++
		}
		t.Fatalf("the two builds differ: %d and %d bytes, sha256 %x and %x, first difference at byte %d",
			len(a), len(b), sha256.Sum256(a), sha256.Sum256(b), at)
	}
	t.Logf("identical: %d bytes, sha256 %x", len(a), sha256.Sum256(a))

	goroot, _ := exec.Command("go", "env", "GOROOT").Output()
	gomodcache, _ := exec.Command("go", "env", "GOMODCACHE").Output()
	for _, p := range []string{r.src, src, moduleRoot(t), strings.TrimSpace(string(goroot)), strings.TrimSpace(string(gomodcache))} {
		if p != "" && bytes.Contains(a, []byte(p)) {
			t.Errorf("the binary contains the build path %s", p)
		}
	}
}

// testVersion runs the release binary built with the release stamps and
// checks that --version reports them, and that the build information the Go
// toolchain recorded says it is the release build of that commit.
func (r *release) testVersion(t *testing.T) {
	bin := r.binary(t, runtime.GOOS, runtime.GOARCH)

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "--version")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("--version: %v\nstderr: %s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("--version wrote to stderr: %q", stderr.String())
	}
	goVersion, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("gcp-aws-cred v%s\ncommit:   %s\ndate:     %s\ngo:       %s\nplatform: %s/%s\n",
		stampVersion, r.commit, r.date, strings.TrimSpace(string(goVersion)), runtime.GOOS, runtime.GOARCH)
	if got := stdout.String(); got != want {
		t.Errorf("--version printed\n%s\nwant\n%s", got, want)
	}

	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	info := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		info[strings.Join(strings.Fields(l), " ")] = true
	}
	for _, w := range []string{
		"build -trimpath=true",
		"build -tags=" + releaseTags,
		"build CGO_ENABLED=0",
		"build vcs=git",
		"build vcs.revision=" + r.commit,
		"build vcs.time=" + r.date,
		"build vcs.modified=false",
	} {
		if !info[w] {
			t.Errorf("go version -m lacks %q:\n%s", w, out)
		}
	}
}

// testSize keeps the linux/amd64 release binary within 12 MB.
func (r *release) testSize(t *testing.T) {
	fi, err := os.Stat(r.binary(t, "linux", "amd64"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > maxReleaseSize {
		t.Errorf("linux/amd64 release binary is %d bytes, over the %d limit", fi.Size(), maxReleaseSize)
	}
	t.Logf("linux/amd64 release binary: %d bytes (limit %d)", fi.Size(), maxReleaseSize)
}

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// moduleRoot is the directory of the repository's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	rootOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		rootDir, rootErr = strings.TrimSpace(string(out)), err
	})
	if rootErr != nil {
		t.Fatalf("go list -m: %v", rootErr)
	}
	return rootDir
}
