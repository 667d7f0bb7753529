package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/testbin"
)

// startSandbox runs the sandbox command of docs/sandbox.md, fakeservers, as that page
// does (in the background, stdin /dev/null, --config), and returns the
// environment of a shell that sourced its output, with gcp-aws-cred on PATH
// under that name, as the printed profile expects.
func startSandbox(t *testing.T, args ...string) (env []string, home string) {
	t.Helper()
	testbin.StatSources()
	dir := t.TempDir()
	fakeservers := filepath.Join(dir, "fakeservers")
	build := exec.Command("go", "build", "-o", fakeservers, "./internal/cmd/fakeservers")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	config := filepath.Join(dir, "sandbox.config")
	cmd := exec.Command(fakeservers, append([]string{"--for", "5m", "--config", config}, args...)...)
	cmd.SysProcAttr = orphanProof()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if _, err := os.Stat(config); err == nil {
			t.Errorf("the sandbox's config file outlived it")
		}
	})

	home = t.TempDir()
	env = cleanEnv(home)
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			env[i] = "PATH=" + filepath.Dir(binPath) + string(os.PathListSeparator) + v
		}
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if kv, ok := strings.CutPrefix(line, "export "); ok {
			env = append(env, strings.Trim(kv, "'"))
		}
		if strings.HasPrefix(line, "# Stop it with") {
			return env, home
		}
	}
	t.Fatalf("fakeservers ended before its last line; stderr: %s", stderr.String())
	return nil, ""
}

func runIn(t *testing.T, env []string, dir, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	w := &world{home: dir, env: env}
	return w.run(t, name, args...)
}

// TestSandbox is docs/sandbox.md's walkthrough of the local sandbox with the
// real AWS CLI and boto3: the printed profile gets credentials from the
// fake STS, the CLI's own get-caller-identity is answered by the fake STS
// (which checks the SigV4 signature made with those keys), and with --moto
// the other services reach moto.
func TestSandbox(t *testing.T) {
	requireTools(t)
	moto := startMoto(t)
	env, home := startSandbox(t, "--moto", moto)
	const arn = "arn:aws:sts::123456789012:assumed-role/aws-allow-gcp-access/demo-vm"

	mustRun := func(name string, args ...string) string {
		t.Helper()
		out, errOut, err := runIn(t, env, home, name, args...)
		if err != nil {
			t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, out, errOut)
		}
		return out
	}
	if got := callerARN(t, mustRun("aws", "--profile", "sandbox", "sts", "get-caller-identity", "--output", "json")); got != arn {
		t.Errorf("aws sts get-caller-identity: %q, want %q", got, arn)
	}
	mustRun("aws", "--profile", "sandbox", "s3", "mb", "s3://sandbox-bucket")
	if out := mustRun("aws", "--profile", "sandbox", "s3", "ls"); !strings.Contains(out, "sandbox-bucket") {
		t.Errorf("aws s3 ls at moto: %q", out)
	}
	out := mustRun(python(), "-c", `import boto3; print(boto3.Session(profile_name="sandbox").client("sts").get_caller_identity()["Arn"])`)
	if got := strings.TrimSpace(out); got != arn {
		t.Errorf("boto3: %q, want %q", got, arn)
	}

	t.Run("AWS CLI v2", func(t *testing.T) {
		v2 := awsV2(t)
		var sts string
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "AWS_ENDPOINT_URL_STS="); ok {
				sts = v
			}
		}
		out, errOut, err := runIn(t, env, home, v2, "--profile", "sandbox", "--endpoint-url", sts, "sts", "get-caller-identity", "--output", "json")
		if err != nil {
			t.Fatalf("aws v2: %v\n%s", err, errOut)
		}
		if got := callerARN(t, out); got != arn {
			t.Errorf("aws v2 sts get-caller-identity: %q, want %q", got, arn)
		}
	})

	// A role that does not trust this workload, by hand as docs/sandbox.md shows
	// (through sh, so gcp-aws-cred is found on the sandbox's PATH).
	_, errOut, err := runIn(t, env, home, "sh", "-c", "gcp-aws-cred --role arn:aws:iam::123456789012:role/someone-elses-role")
	if err == nil || !strings.Contains(errOut, "(AccessDenied") {
		t.Errorf("someone-elses-role: %v\n%s", err, errOut)
	}
	if got := filesUnder(t, home); len(got) != 0 {
		t.Errorf("HOME holds %v, want nothing (the profile lives in the sandbox's own file)", got)
	}
}

// TestSandboxWithoutMoto: without --moto, the AWS CLI's calls to services
// other than STS go to the fake STS, which refuses them by name, so nothing
// reaches AWS.
func TestSandboxWithoutMoto(t *testing.T) {
	requireTools(t)
	env, home := startSandbox(t)
	out, errOut, err := runIn(t, env, home, "aws", "--profile", "sandbox", "s3", "ls")
	want := "this is a fake STS: it answers only the STS actions AssumeRoleWithWebIdentity and GetCallerIdentity"
	if err == nil || !strings.Contains(errOut, want) {
		t.Errorf("aws s3 ls: %v\nstdout: %s\nstderr: %s\nwant the fake's refusal %q", err, out, errOut, want)
	}
}

// sandboxPage is the page whose shell blocks TestSandboxPageAsPasted runs.
const sandboxPage = "../docs/sandbox.md"

// TestSandboxPageAsPasted runs the shell blocks of docs/sandbox.md that a
// reader pastes first, verbatim, through sh from the repository's root: the
// block that builds and starts the sandbox and asks the AWS CLI who it is,
// then the blocks of exec, exec --serve and serve. Each of the four aws
// commands must answer with the sandbox role, so the page cannot drift from
// what works. The page names the endpoints on every aws line, so it runs
// once with the aws on PATH and once with AWS CLI v2 first on PATH (Debian's
// 2.9 ignores AWS_ENDPOINT_URL_STS). (A trailer stops the sandbox, as
// `kill %1` would.)
func TestSandboxPageAsPasted(t *testing.T) {
	requireTools(t)
	start := pageBlocks(t, sandboxPage, "## Start it")[0]
	blocks := pageBlocks(t, sandboxPage, "## exec and serve in the sandbox")
	if len(blocks) < 2 {
		t.Fatalf("%s: want the exec block and the serve block, got %d blocks", sandboxPage, len(blocks))
	}
	script := start + "\nfakeservers=$!\n" + blocks[0] + "\n" + blocks[1] + "\nkill $fakeservers; wait $fakeservers; rm -rf \"$sandbox\"\n"
	t.Run("aws on PATH", func(t *testing.T) { runPage(t, script, "") })
	t.Run("AWS CLI v2", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Symlink(awsV2(t), filepath.Join(dir, "aws")); err != nil {
			t.Fatal(err)
		}
		runPage(t, script, dir)
	})
}

// runPage runs script as TestSandboxPageAsPasted does, with dir (when not
// empty) first on PATH.
func runPage(t *testing.T, script, dir string) {
	home := t.TempDir()
	env := cleanEnv(home)
	if dir != "" {
		for i, kv := range env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				env[i] = "PATH=" + dir + string(os.PathListSeparator) + v
			}
		}
	}
	// The page's go build runs with this test's caches, not an empty HOME's.
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH"} {
		v, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, k+"="+strings.TrimSpace(string(v)))
	}
	// A safety net: an aws line that lost its endpoint would otherwise
	// reach real AWS; through a dead proxy it fails. The modules are in
	// this test's cache already.
	env = append(env, "TMPDIR="+t.TempDir(), "HTTPS_PROXY=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9", "GOPROXY=off")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Dir = ".."
	cmd.Env = env
	// A process the page leaves running would hold the pipes open: give up
	// on them soon after sh ends, so the test fails instead of hanging.
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	const arn = "arn:aws:sts::123456789012:assumed-role/aws-allow-gcp-access/demo-vm"
	if n := strings.Count(stdout.String(), `"Arn": "`+arn+`"`); err != nil || n != 4 {
		t.Fatalf("the page's blocks: %v, %d of 4 aws commands answered as %s\nscript:\n%s\nstdout:\n%s\nstderr:\n%s", err, n, arn, script, stdout.String(), stderr.String())
	}
}

// pageBlocks returns the ```sh blocks of the section under heading in a
// Markdown page, up to the next heading of the same level; at least one.
func pageBlocks(t *testing.T, page, heading string) []string {
	t.Helper()
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no heading %q", page, heading)
	}
	level, _, _ := strings.Cut(heading, " ")
	after, _, _ = strings.Cut(after, "\n"+level+" ")
	var blocks []string
	for {
		var block string
		if _, block, ok = strings.Cut(after, "\n```sh\n"); !ok {
			break
		}
		if block, after, ok = strings.Cut(block, "\n```\n"); !ok {
			t.Fatalf("%s: an sh block under %q does not end", page, heading)
		}
		blocks = append(blocks, block)
	}
	if len(blocks) == 0 {
		t.Fatalf("%s: no sh block under %q", page, heading)
	}
	return blocks
}
