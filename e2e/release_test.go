package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
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
	// The linux/amd64 release binary's guard: 12 MB, to catch a heavy
	// dependency slipping in, not a goal to bend code for.
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

// testSize keeps the linux/amd64 release binary within the 12 MB guard.
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

// The OS packages, as .goreleaser.yaml's nfpms section builds them.
var packageFiles = []string{
	"/usr/bin/gcp-aws-cred",
	"/usr/share/man/man1/gcp-aws-cred.1.gz",
	"/usr/share/bash-completion/completions/gcp-aws-cred",
	"/usr/share/fish/vendor_completions.d/gcp-aws-cred.fish",
	"/usr/lib/systemd/system/gcp-aws-cred.service",
	"/usr/lib/systemd/system/gcp-aws-cred.socket",
	"/usr/lib/systemd/user/gcp-aws-cred-agent.socket",
	"/usr/lib/systemd/user/gcp-aws-cred-agent.service",
	"/usr/share/doc/gcp-aws-cred/LICENSE",
	"/usr/share/doc/gcp-aws-cred/README.md",
	"/usr/share/doc/gcp-aws-cred/CHANGELOG.md",
}

// packagesDist is the dist/ of a snapshot release of HEAD, for the package
// tests: $RELEASE_DIST (scripts/release-check --snapshot sets it), else the
// ./dist that release-check leaves, if it was built from HEAD. Without one
// the tests skip: building the packages needs the pinned goreleaser.
func packagesDist(t *testing.T) string {
	t.Helper()
	dist := os.Getenv("RELEASE_DIST")
	if dist == "" {
		dist = filepath.Join(moduleRoot(t), "dist")
		head, err := exec.Command("git", "-C", moduleRoot(t), "rev-parse", "HEAD").Output()
		meta, _ := os.ReadFile(filepath.Join(dist, "metadata.json"))
		if err != nil || len(meta) == 0 || !bytes.Contains(meta, []byte(`"commit":"`+strings.TrimSpace(string(head))+`"`)) {
			t.Skip("no snapshot release of HEAD in dist/: run scripts/release-check --snapshot, which builds the packages and runs these tests")
		}
	}
	return dist
}

// onePackage is the single file in dist matching pattern.
func onePackage(t *testing.T, dist, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dist, pattern))
	if len(m) != 1 {
		t.Fatalf("want one %s in %s, found %q", pattern, dist, m)
	}
	return m[0]
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed: that check is skipped", name)
	}
	return path
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// TestPackages inspects the .deb, .rpm and .apk of a snapshot release.
func TestPackages(t *testing.T) {
	dist := packagesDist(t)
	for _, arch := range []string{"amd64", "arm64"} {
		onePackage(t, dist, "gcp-aws-cred_*_"+arch+".deb")
	}
	onePackage(t, dist, "gcp-aws-cred-*.x86_64.rpm")
	onePackage(t, dist, "gcp-aws-cred-*.aarch64.rpm")
	onePackage(t, dist, "gcp-aws-cred_*_x86_64.apk")
	onePackage(t, dist, "gcp-aws-cred_*_aarch64.apk")

	t.Run("deb", func(t *testing.T) {
		dpkgDeb := needTool(t, "dpkg-deb")
		deb := onePackage(t, dist, "gcp-aws-cred_*_amd64.deb")
		control := runTool(t, dpkgDeb, "-f", deb)
		for _, want := range []string{
			"Package: gcp-aws-cred\n", "Architecture: amd64\n", "Section: utils\n",
			"Homepage: https://github.com/gcp-aws-cred/gcp-aws-cred\n",
			"Maintainer: ", "Description: Use AWS from Google Cloud without an AWS access key\n ",
		} {
			if !strings.Contains(control, want) {
				t.Errorf("control lacks %q:\n%s", want, control)
			}
		}
		for _, field := range []string{"Depends:", "Pre-Depends:", "Recommends:"} {
			if strings.Contains(control, "\n"+field) {
				t.Errorf("the package has %s; a static binary needs nothing:\n%s", field, control)
			}
		}
		// The file list.
		var files []string
		for _, l := range strings.Split(runTool(t, dpkgDeb, "-c", deb), "\n") {
			if f := strings.Fields(l); len(f) >= 6 && !strings.HasSuffix(f[5], "/") {
				files = append(files, strings.TrimPrefix(f[5], "."))
			}
		}
		want := append([]string{"/etc/default/gcp-aws-cred", "/usr/share/zsh/vendor-completions/_gcp-aws-cred"}, packageFiles...)
		sort.Strings(files)
		sort.Strings(want)
		if strings.Join(files, "\n") != strings.Join(want, "\n") {
			t.Errorf("the .deb holds\n%s\nwant\n%s", strings.Join(files, "\n"), strings.Join(want, "\n"))
		}
		// The settings file is a conffile, kept on upgrade.
		ctl := t.TempDir()
		runTool(t, dpkgDeb, "-e", deb, ctl)
		if b, _ := os.ReadFile(filepath.Join(ctl, "conffiles")); strings.TrimSpace(string(b)) != "/etc/default/gcp-aws-cred" {
			t.Errorf("conffiles = %q, want /etc/default/gcp-aws-cred", b)
		}
		// The binary runs, and the unit verifies.
		root := t.TempDir()
		runTool(t, dpkgDeb, "-x", deb, root)
		bin := filepath.Join(root, "usr/bin/gcp-aws-cred")
		if out := runTool(t, bin, "--version"); !strings.HasPrefix(out, "gcp-aws-cred v") {
			t.Errorf("%s --version = %q", bin, out)
		}
		verifyUnit(t, root, bin)
	})

	t.Run("apk", func(t *testing.T) {
		// An .apk is gzip streams of tar, one after another: read as one.
		f, err := os.Open(onePackage(t, dist, "gcp-aws-cred_*_x86_64.apk"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		var info string
		tr := tar.NewReader(z)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case h.Name == ".PKGINFO":
				b, _ := io.ReadAll(tr)
				info = string(b)
			case h.Typeflag == tar.TypeReg && !strings.HasPrefix(h.Name, "."):
				files = append(files, "/"+h.Name)
			}
		}
		want := append([]string{"/etc/default/gcp-aws-cred", "/usr/share/zsh/site-functions/_gcp-aws-cred"}, packageFiles...)
		sort.Strings(files)
		sort.Strings(want)
		if strings.Join(files, "\n") != strings.Join(want, "\n") {
			t.Errorf("the .apk holds\n%s\nwant\n%s", strings.Join(files, "\n"), strings.Join(want, "\n"))
		}
		for _, want := range []string{"pkgname = gcp-aws-cred\n", "arch = x86_64\n", "pkgdesc = Use AWS from Google Cloud without an AWS access key\n", "license = Apache-2.0\n", "url = https://github.com/gcp-aws-cred/gcp-aws-cred\n"} {
			if !strings.Contains(info, want) {
				t.Errorf(".PKGINFO lacks %q:\n%s", want, info)
			}
		}
		for _, l := range strings.Split(strings.TrimSpace(info), "\n") {
			if !strings.Contains(l, " = ") || strings.HasPrefix(l, " ") {
				t.Errorf(".PKGINFO line %q is not key = value", l)
			}
		}
		if strings.Contains(info, "\ndepend = ") {
			t.Errorf("the .apk has dependencies:\n%s", info)
		}
	})

	t.Run("rpm", func(t *testing.T) {
		rpm := needTool(t, "rpm")
		pkg := onePackage(t, dist, "gcp-aws-cred-*.x86_64.rpm")
		files := strings.Fields(runTool(t, rpm, "-qlp", pkg))
		want := append([]string{"/etc/sysconfig/gcp-aws-cred", "/usr/share/zsh/site-functions/_gcp-aws-cred"}, packageFiles...)
		sort.Strings(files)
		sort.Strings(want)
		if strings.Join(files, "\n") != strings.Join(want, "\n") {
			t.Errorf("the .rpm holds\n%s\nwant\n%s", strings.Join(files, "\n"), strings.Join(want, "\n"))
		}
		if got := strings.TrimSpace(runTool(t, rpm, "-qcp", pkg)); got != "/etc/sysconfig/gcp-aws-cred" {
			t.Errorf("rpm config files = %q, want /etc/sysconfig/gcp-aws-cred", got)
		}
		if req := runTool(t, rpm, "-qRp", pkg); strings.Contains(req, "libc") {
			t.Errorf("the .rpm requires a C library:\n%s", req)
		}
		info := runTool(t, rpm, "-qip", pkg)
		for _, want := range []string{"License     : Apache-2.0", "URL         : https://github.com/gcp-aws-cred/gcp-aws-cred"} {
			if !strings.Contains(info, want) {
				t.Errorf("rpm -qip lacks %q:\n%s", want, info)
			}
		}
	})
}

// verifyUnit runs systemd-analyze verify on the packaged unit, with
// /usr/bin/gcp-aws-cred pointed at the extracted binary (the package is not
// installed here).
func verifyUnit(t *testing.T, root, bin string) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze is not installed: the unit is not verified")
		return
	}
	b, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/gcp-aws-cred.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nExecStart=/usr/bin/gcp-aws-cred serve ") ||
		!strings.Contains(string(b), "\nEnvironmentFile=-/etc/default/gcp-aws-cred\n") ||
		!strings.Contains(string(b), "\nEnvironmentFile=-/etc/sysconfig/gcp-aws-cred\n") {
		t.Errorf("the packaged unit does not run /usr/bin/gcp-aws-cred serve with the settings files:\n%s", b)
	}
	unit := filepath.Join(t.TempDir(), "gcp-aws-cred.service")
	if err := os.WriteFile(unit, bytes.ReplaceAll(b, []byte("/usr/bin/gcp-aws-cred"), []byte(bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
