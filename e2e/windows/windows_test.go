//go:build linux

package windows

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/testbin"
)

const (
	account = "123456789012"
	role    = "arn:aws:iam::" + account + ":role/windows-e2e"
	session = "windows-e2e"
	wantARN = "arn:aws:sts::" + account + ":assumed-role/windows-e2e/" + session

	// Where the binary is installed in the prefix: a path with a space,
	// as an installer or AppStream puts it, for aws/aws-sdk-go-v2#3208.
	installDir = `C:\Program Files\gcp-aws-cred`
	exeWin     = installDir + `\gcp-aws-cred.exe`
	sdkWin     = `C:\tools\sdkclient.exe`
)

// wine is one Wine prefix with the Windows builds installed in it, and the
// fakes they talk to over the Linux loopback.
type wine struct {
	prefix string   // WINEPREFIX, a fresh temporary directory
	env    []string // the whole environment of every Windows process
	srv    *fakes.Servers
}

// unix is the Unix path of a C:\ path in the prefix.
func (w *wine) unix(win string) string {
	rest, ok := strings.CutPrefix(win, `C:\`)
	if !ok {
		panic("not a C: path: " + win)
	}
	return filepath.Join(w.prefix, "drive_c", filepath.FromSlash(strings.ReplaceAll(rest, `\`, "/")))
}

func (w *wine) write(t *testing.T, win string, b []byte) {
	t.Helper()
	p := w.unix(win)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitDelay bounds how long Wait waits for a Wine program's output pipes
// after it exits. Wine's own processes (wineserver, services.exe) can
// inherit them from the program that started them and hold them open; a
// run once hung ten minutes in wineboot's output that way.
const waitDelay = 10 * time.Second

// result is one Windows process's outcome.
type result struct {
	stdout, stderr string
	status         int
}

func (r result) String() string {
	return fmt.Sprintf("exit status %d\nstdout: %s\nstderr: %s", r.status, r.stdout, r.stderr)
}

// run starts a Windows program under Wine with w.env and extra (NAME=value,
// later ones win) and waits for it.
func (w *wine) run(t *testing.T, extra []string, program string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wine", append([]string{program}, args...)...)
	cmd.Env = withEnv(w.env, extra...)
	cmd.WaitDelay = waitDelay
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.status = exit.ExitCode()
	case errors.Is(err, exec.ErrWaitDelay):
		// It exited 0; something it started still holds the pipes.
	case err != nil:
		t.Fatalf("wine %s: %v", program, err)
	}
	return r
}

// withEnv is env with each NAME=value of extra set, replacing NAME if
// present; NAME= with nothing after it removes NAME.
func withEnv(env []string, extra ...string) []string {
	out := slices.Clone(env)
	for _, kv := range extra {
		name, value, _ := strings.Cut(kv, "=")
		out = slices.DeleteFunc(out, func(e string) bool { return strings.HasPrefix(e, name+"=") })
		if value != "" {
			out = append(out, kv)
		}
	}
	return out
}

// gcpAWSCred runs the binary with args and the fakes' environment.
func (w *wine) gcpAWSCred(t *testing.T, extra []string, args ...string) result {
	t.Helper()
	return w.run(t, extra, exeWin, args...)
}

func setupWine(t *testing.T) *wine {
	t.Helper()
	if testing.Short() {
		t.Skip("the Windows run under Wine is skipped in -short mode")
	}
	if os.Getenv("GCP_AWS_CRED_WINE") != "1" {
		t.Skip("the Windows run under Wine is opt-in: GCP_AWS_CRED_WINE=1 go test ./e2e/windows (.ci/run sets it once wine64, wine and gcc-mingw-w64-x86-64-win32 are installed)")
	}
	for _, tool := range []string{"wine", "wineboot", "wineserver", "winepath", "x86_64-w64-mingw32-gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("GCP_AWS_CRED_WINE=1 but %s is not installed: apt-get install --no-install-recommends wine64 wine gcc-mingw-w64-x86-64-win32", tool)
		}
	}
	testbin.StatSources()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	root := strings.TrimSpace(string(out))

	dir := t.TempDir()
	w := &wine{prefix: filepath.Join(dir, "prefix")}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	// The whole environment, as env -i would leave it plus what Wine needs:
	// nothing of this machine's (AWS_*, GOOGLE_*, proxies, HOME) reaches a
	// Windows process. Wine hands every variable here to Windows programs.
	w.env = []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + home,
		"USER=runner",
		"LANG=C.UTF-8",
		"WINEPREFIX=" + w.prefix,
		"WINEARCH=win64",
		"WINEDEBUG=-all",
		// The stand-in DLL instead of any builtin; no Mono or Gecko
		// installer prompts while the prefix is made.
		"WINEDLLOVERRIDES=bcryptprimitives=n;mscoree,mshtml=",
		"NO_PROXY=127.0.0.1,localhost",
		"AWS_EC2_METADATA_DISABLED=true",
	}
	t.Cleanup(func() {
		// This prefix's wineserver only; it would linger a few seconds.
		k := exec.Command("wineserver", "-k")
		k.Env = w.env
		_ = k.Run()
	})
	step := func(name string, f func() error) {
		t.Helper()
		start := time.Now()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %.1f s", name, time.Since(start).Seconds())
	}
	run := func(dir string, env []string, name string, args ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir, cmd.Env = dir, env
		cmd.WaitDelay = waitDelay
		if b, err := cmd.CombinedOutput(); err != nil && !errors.Is(err, exec.ErrWaitDelay) {
			return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
		}
		return nil
	}
	// The cross-builds run while Wine makes the prefix, into a directory
	// of their own; they are moved into C:\ once both are done.
	bin := filepath.Join(dir, "bin")
	built, buildDone := make(chan error, 1), make(chan struct{})
	// A setup step that fails first must not let the builds write into a
	// directory being removed.
	t.Cleanup(func() { <-buildDone })
	go func() {
		defer close(buildDone)
		cross := append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOWORK=off")
		err := run(root, cross, "go", "build", "-trimpath", "-tags", "nethttpomithttp2", "-o", filepath.Join(bin, "gcp-aws-cred.exe"), ".")
		if err == nil {
			// Its own module: the SDK's config package stays out of go.mod.
			err = run(filepath.Join(root, "e2e", "windows", "sdkclient"), cross, "go", "build", "-o", filepath.Join(bin, "sdkclient.exe"), ".")
		}
		built <- err
	}()
	step("fresh prefix (wineboot)", func() error { return run(dir, w.env, "wineboot", "--init") })
	// One Windows program alive for the whole run: when the last one exits,
	// Wine stops its services, and starting them again costs each program
	// seconds. cmd.exe waits on a pipe that closes when the test ends.
	keep := exec.Command("wine", "cmd")
	keep.Env, keep.WaitDelay = w.env, waitDelay
	stdin, err := keep.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := keep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = keep.Wait()
	})
	step("Windows 10", func() error {
		return run(dir, w.env, "wine", "reg", "add", `HKCU\Software\Wine`, "/v", "Version", "/t", "REG_SZ", "/d", "win10", "/f")
	})
	step("stand-in bcryptprimitives.dll (ProcessPrng) from testdata/bcryptprimitives.c", func() error {
		src, err := filepath.Abs(filepath.Join("testdata", "bcryptprimitives.c"))
		if err != nil {
			return err
		}
		return run(dir, os.Environ(), "x86_64-w64-mingw32-gcc", "-shared", "-O2", "-o", w.unix(`C:\windows\system32\bcryptprimitives.dll`), src, "-lbcrypt")
	})
	step("go build gcp-aws-cred.exe and sdkclient.exe (windows/amd64), started before wineboot", func() error {
		if err := <-built; err != nil {
			return err
		}
		for _, p := range []string{exeWin, sdkWin} {
			if err := os.MkdirAll(filepath.Dir(w.unix(p)), 0o755); err != nil {
				return err
			}
			if err := os.Rename(filepath.Join(bin, filepath.Base(w.unix(p))), w.unix(p)); err != nil {
				return err
			}
		}
		return nil
	})

	srv, err := fakes.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	w.srv = srv
	// Wine programs reach the Linux loopback directly.
	w.env = append(w.env, srv.Env()...)
	w.env = append(w.env, "AWS_REGION=us-east-1")
	return w
}

// TestWindowsUnderWine is the Windows run. Each subtest is one named check.
func TestWindowsUnderWine(t *testing.T) {
	w := setupWine(t)
	t.Log("not covered under Wine: Windows's own cmd.exe (Wine's is a reimplementation), signals and console control events (they differ), PowerShell (absent)")

	t.Run("Windows 10", func(t *testing.T) {
		r := w.run(t, nil, "cmd", "/c", "ver")
		if r.status != 0 || !strings.Contains(r.stdout, "Windows 10") {
			t.Fatalf("cmd /c ver: want Windows 10\n%s", r)
		}
	})

	t.Run("credential process document", func(t *testing.T) {
		r := w.gcpAWSCred(t, nil, "--role", role, "--session-name", session)
		if r.status != 0 || r.stderr != "" {
			t.Fatalf("want status 0 and a silent stderr\n%s", r)
		}
		checkDocument(t, w, r.stdout)
	})

	t.Run("output", func(t *testing.T) {
		for _, format := range []string{"env", "env-no-export", "fish", "powershell", "windows-cmd"} {
			t.Run(format, func(t *testing.T) {
				r := w.gcpAWSCred(t, nil, "--role", role, "--session-name", session, "--output", format)
				if r.status != 0 || r.stderr != "" {
					t.Fatalf("want status 0 and a silent stderr\n%s", r)
				}
				vars := parseVars(t, format, r.stdout)
				checkVars(t, w, vars)
				switch format {
				case "windows-cmd":
					checkThroughCmd(t, w, r.stdout, vars)
				case "env", "env-no-export":
					// For Git Bash, MSYS2 or WSL: read back by a POSIX sh
					// (this machine's).
					checkThroughShell(t, "sh", r.stdout, vars)
				case "fish":
					checkThroughShell(t, "fish", r.stdout, vars)
				case "powershell":
					t.Log("no PowerShell under Wine: the lines are checked as text only")
				}
			})
		}
	})

	t.Run("doctor", func(t *testing.T) {
		r := w.gcpAWSCred(t, nil, "doctor", "--role", role, "--session-name", session)
		if r.status != 0 || !regexp.MustCompile(`(?m)^\[ok\] +metadata server$`).MatchString(r.stdout) {
			t.Fatalf("doctor: want status 0 and [ok] metadata server\n%s", r)
		}
		r = w.gcpAWSCred(t, nil, "doctor", "--json", "--role", role, "--session-name", session)
		var report struct {
			OK    bool `json:"ok"`
			Steps []struct {
				Name   string `json:"name"`
				Status string `json:"status"`
			} `json:"steps"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || r.status != 0 || !report.OK || len(report.Steps) == 0 {
			t.Fatalf("doctor --json: want ok true (%v)\n%s", err, r)
		}
		for _, s := range report.Steps {
			if s.Status == "failed" {
				t.Errorf("doctor --json: step %s failed", s.Name)
			}
		}
	})

	t.Run("exec", func(t *testing.T) {
		args := []string{"exec", "--role", role, "--session-name", session, "--"}
		t.Run("the command's status", func(t *testing.T) {
			r := w.gcpAWSCred(t, nil, append(args, "cmd", "/c", "exit 3")...)
			if r.status != 3 || r.stderr != "" {
				t.Fatalf("exec -- cmd /c exit 3: want status 3 and a silent stderr\n%s", r)
			}
		})
		t.Run("the command's environment", func(t *testing.T) {
			r := w.gcpAWSCred(t, nil, append(args, "cmd", "/c", "echo key=%AWS_ACCESS_KEY_ID% exp=%AWS_CREDENTIAL_EXPIRATION%")...)
			m := regexp.MustCompile(`^key=(ASIA[A-Z0-9]+) exp=(\S+Z)\r?\n$`).FindStringSubmatch(r.stdout)
			if r.status != 0 || m == nil {
				t.Fatalf("exec -- cmd /c echo: want the key and expiry in the command's environment\n%s", r)
			}
			if exp, err := time.Parse(time.RFC3339, m[2]); err != nil || !exp.After(time.Now()) {
				t.Errorf("AWS_CREDENTIAL_EXPIRATION %q is not a future RFC 3339 time", m[2])
			}
		})
		t.Run("127 when not found", func(t *testing.T) {
			r := w.gcpAWSCred(t, nil, append(args, "no-such-command-e2e")...)
			if r.status != 127 || r.stdout != "" || !strings.Contains(r.stderr, "gcp-aws-cred: error: ") || !strings.Contains(r.stderr, "no-such-command-e2e") {
				t.Fatalf("exec -- no-such-command-e2e: want status 127, empty stdout, our error naming it\n%s", r)
			}
		})
	})

	t.Run("exec --serve with the Go SDK", func(t *testing.T) {
		r := w.gcpAWSCred(t, nil, "exec", "--serve", "--role", role, "--session-name", session, "--", sdkWin)
		got := sdkResult(t, r)
		if r.status != 0 || got.Arn != wantARN || !got.CanExpire {
			t.Fatalf("the Go SDK under exec --serve: want %s from credentials that expire\n%s", wantARN, r)
		}
	})

	t.Run("serve", func(t *testing.T) { checkServe(t, w) })

	t.Run("impersonate", func(t *testing.T) {
		g := w.srv.Google
		minted := len(w.srv.Metadata.Minted())
		imp := []string{"--impersonate", fakes.TargetEmail, "--role", role, "--session-name", session}
		base := []string{"GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT=" + g.URL}

		t.Run(`GOOGLE_APPLICATION_CREDENTIALS=C:\…`, func(t *testing.T) {
			b, err := g.ADCFile(fakes.ServiceAccountKey, "")
			if err != nil {
				t.Fatal(err)
			}
			const adc = `C:\Users Data\adc\service account.json`
			w.write(t, adc, b)
			before := g.IDTokens()
			r := w.gcpAWSCred(t, append(base, "GOOGLE_APPLICATION_CREDENTIALS="+adc), imp...)
			if r.status != 0 || r.stderr != "" {
				t.Fatalf("want status 0 and a silent stderr\n%s", r)
			}
			checkDocument(t, w, r.stdout)
			if n := g.IDTokens() - before; n != 1 {
				t.Errorf("generateIdToken minted %d ID tokens, want 1", n)
			}
		})

		t.Run(`gcloud's file under %APPDATA%`, func(t *testing.T) {
			r := w.run(t, nil, "cmd", "/c", "echo %APPDATA%")
			appdata := strings.TrimSpace(r.stdout)
			if r.status != 0 || !strings.HasPrefix(appdata, `C:\`) {
				t.Fatalf("cmd /c echo %%APPDATA%%: want a C: path\n%s", r)
			}
			b, err := g.ADCFile(fakes.AuthorizedUser, "")
			if err != nil {
				t.Fatal(err)
			}
			adc := appdata + `\gcloud\application_default_credentials.json`
			w.write(t, adc, b)
			t.Cleanup(func() { _ = os.Remove(w.unix(adc)) })
			before := g.IDTokens()
			r = w.gcpAWSCred(t, append(base, "GOOGLE_APPLICATION_CREDENTIALS="), imp...)
			if r.status != 0 || r.stderr != "" {
				t.Fatalf("want status 0 and a silent stderr, with ADC from %s\n%s", adc, r)
			}
			checkDocument(t, w, r.stdout)
			if n := g.IDTokens() - before; n != 1 {
				t.Errorf("generateIdToken minted %d ID tokens, want 1", n)
			}
		})

		if n := len(w.srv.Metadata.Minted()) - minted; n != 0 {
			t.Errorf("the metadata server minted %d ID tokens; with --impersonate it must mint none", n)
		}
	})

	t.Run("Go SDK credential_process", func(t *testing.T) { checkGoSDKProcess(t, w) })
}

// checkDocument holds out to the credential_process contract: one JSON
// document with the keys the SDKs read, credentials this STS issued that
// expire in the future, and no \" (which the Go SDK rewrites on Windows).
func checkDocument(t *testing.T, w *wine, out string) {
	t.Helper()
	var doc struct {
		Version         int
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil && !strings.Contains(err.Error(), "unknown field \"AccountId\"") {
		t.Fatalf("not the credential_process document: %v", err)
	}
	if doc.Version != 1 || !strings.HasPrefix(doc.AccessKeyID, "ASIA") {
		t.Errorf("Version %d and AccessKeyId %q, want 1 and a temporary key", doc.Version, doc.AccessKeyID)
	}
	issued := w.srv.STS.Issued()
	if !slices.Contains(issued, doc.SecretAccessKey) || !slices.Contains(issued, doc.SessionToken) {
		t.Errorf("the secret key or session token is not what the fake STS issued")
	}
	if exp, err := time.Parse(time.RFC3339, doc.Expiration); err != nil || !exp.After(time.Now()) {
		t.Errorf("Expiration %q is not a future RFC 3339 time", doc.Expiration)
	}
	if strings.Contains(out, `\"`) {
		t.Errorf(`the document contains \", which the Go SDK rewrites to " on Windows`)
	}
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("want one line of JSON")
	}
}

var varNames = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION"}

// parseVars reads the four variables from one format's lines, each in that
// shell's syntax for a plain value, with that format's line ending.
func parseVars(t *testing.T, format, out string) map[string]string {
	t.Helper()
	line := map[string]*regexp.Regexp{
		"env":           regexp.MustCompile(`^export ([A-Z_]+)=([A-Za-z0-9/+=:._-]+)$`),
		"env-no-export": regexp.MustCompile(`^([A-Z_]+)=([A-Za-z0-9/+=:._-]+)$`),
		"fish":          regexp.MustCompile(`^set -gx ([A-Z_]+) "([A-Za-z0-9/+=:._-]+)"$`),
		"powershell":    regexp.MustCompile(`^\$Env:([A-Z_]+)="([A-Za-z0-9/+=:._-]+)"$`),
		"windows-cmd":   regexp.MustCompile(`^set ([A-Z_]+)=([A-Za-z0-9/+=:._-]+)$`),
	}[format]
	eol := "\n"
	if format == "powershell" || format == "windows-cmd" {
		eol = "\r\n"
	}
	vars := map[string]string{}
	var names []string
	for _, l := range strings.SplitAfter(strings.TrimSuffix(out, eol), eol) {
		m := line.FindStringSubmatch(strings.TrimSuffix(l, eol))
		if m == nil || !strings.HasSuffix(out, eol) {
			t.Fatalf("%s: a line is not a plain assignment ending in %q", format, eol)
		}
		vars[m[1]] = m[2]
		names = append(names, m[1])
	}
	if !slices.Equal(names, varNames) {
		t.Fatalf("%s: variables %v, want %v", format, names, varNames)
	}
	return vars
}

func checkVars(t *testing.T, w *wine, vars map[string]string) {
	t.Helper()
	issued := w.srv.STS.Issued()
	if !strings.HasPrefix(vars["AWS_ACCESS_KEY_ID"], "ASIA") || !slices.Contains(issued, vars["AWS_SECRET_ACCESS_KEY"]) || !slices.Contains(issued, vars["AWS_SESSION_TOKEN"]) {
		t.Errorf("the variables do not hold what the fake STS issued")
	}
	if exp, err := time.Parse(time.RFC3339, vars["AWS_CREDENTIAL_EXPIRATION"]); err != nil || !exp.After(time.Now()) {
		t.Errorf("AWS_CREDENTIAL_EXPIRATION is not a future RFC 3339 time")
	}
}

// checkThroughCmd runs the windows-cmd lines as a batch file in Wine's
// cmd.exe and reads the variables back from it.
func checkThroughCmd(t *testing.T, w *wine, out string, want map[string]string) {
	t.Helper()
	var script strings.Builder
	script.WriteString("@echo off\r\n" + out)
	for _, name := range varNames {
		fmt.Fprintf(&script, "echo %s=%%%s%%\r\n", name, name)
	}
	const bat = `C:\check\windows-cmd.cmd`
	w.write(t, bat, []byte(script.String()))
	r := w.run(t, nil, "cmd", "/c", bat)
	if r.status != 0 {
		t.Fatalf("cmd /c %s\n%s", bat, r)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		name, value, _ := strings.Cut(strings.TrimRight(l, "\r"), "=")
		got[name] = value
	}
	for _, name := range varNames {
		if got[name] != want[name] {
			t.Errorf("cmd.exe read %s differently from what was printed", name)
		}
	}
}

// checkThroughShell has a Unix shell evaluate the lines and print the
// variables back. fish is optional here, as in the Linux tests.
func checkThroughShell(t *testing.T, shell, out string, want map[string]string) {
	t.Helper()
	if _, err := exec.LookPath(shell); err != nil {
		t.Logf("%s is not installed: the lines are checked as text only", shell)
		return
	}
	script := out
	for _, name := range varNames {
		script += fmt.Sprintf("printf '%%s=%%s\\n' %s \"$%s\"\n", name, name)
	}
	b, err := exec.Command(shell, "-c", script).Output()
	if err != nil {
		t.Fatalf("%s -c: %v", shell, err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		name, value, _ := strings.Cut(l, "=")
		got[name] = value
	}
	for _, name := range varNames {
		if got[name] != want[name] {
			t.Errorf("%s read %s differently from what was printed", shell, name)
		}
	}
}

// sdkOut is sdkclient's one line of JSON.
type sdkOut struct {
	Source    string `json:"source"`
	CanExpire bool   `json:"can_expire"`
	Arn       string `json:"arn"`
	Error     string `json:"error"`
}

func sdkResult(t *testing.T, r result) sdkOut {
	t.Helper()
	var o sdkOut
	// exec --serve passes the SDK's line through; anything else on stdout
	// would be ours, and wrong.
	if err := json.Unmarshal([]byte(r.stdout), &o); err != nil {
		t.Fatalf("sdkclient did not print its JSON line: %v\n%s", err, r)
	}
	return o
}

// checkServe starts serve under Wine on a free loopback port with a known
// token, fetches the credentials from Linux as an SDK would, and probes it
// with serve --check under Wine.
func checkServe(t *testing.T, w *wine) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	tok := make([]byte, 24)
	_, _ = rand.Read(tok)
	token := hex.EncodeToString(tok)

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "wine", exeWin, "serve", "--role", role, "--session-name", session, "--listen", addr, "--output", "windows-cmd")
	cmd.Env = withEnv(w.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN="+token)
	cmd.WaitDelay = waitDelay
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var printed []byte
	go func() { printed, _ = io.ReadAll(stdout); close(done) }()
	// Signals differ under Wine: it is stopped by killing the process,
	// and how serve stops on Windows is not what this checks.
	defer func() {
		cancel()
		<-done
		_ = cmd.Wait()
	}()

	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer /healthz on %s within 60 s (last: %v)\nstderr: %s", addr, err, stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	t.Run("fetched from Linux", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/credentials", nil)
		req.Header.Set("Authorization", token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var creds struct {
			AccessKeyID     string `json:"AccessKeyId"`
			SecretAccessKey string
			Token           string
			Expiration      string
		}
		if err := json.NewDecoder(resp.Body).Decode(&creds); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /credentials: %s, %v", resp.Status, err)
		}
		issued := w.srv.STS.Issued()
		if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || !slices.Contains(issued, creds.SecretAccessKey) || !slices.Contains(issued, creds.Token) {
			t.Errorf("serve answered credentials the fake STS did not issue")
		}
		req.Header.Set("Authorization", "wrong-"+token)
		if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET /credentials with a wrong token: want 401 or 403, got %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
	})

	t.Run("serve --check", func(t *testing.T) {
		r := w.gcpAWSCred(t, nil, "serve", "--check", "--listen", addr)
		if r.status != 0 || r.stdout != "" {
			t.Fatalf("serve --check --listen %s: want status 0 and empty stdout\n%s", addr, r)
		}
	})

	t.Run("the Go SDK", func(t *testing.T) {
		r := w.run(t, []string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://" + addr + "/credentials",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN=" + token,
		}, sdkWin)
		if got := sdkResult(t, r); r.status != 0 || got.Arn != wantARN {
			t.Fatalf("the Go SDK against serve: want %s\n%s", wantARN, r)
		}
	})

	cancel()
	<-done
	if !regexp.MustCompile(`(?m)^set AWS_CONTAINER_CREDENTIALS_FULL_URI=http://` + regexp.QuoteMeta(addr) + `/credentials\r$`).Match(printed) {
		t.Errorf("serve --output windows-cmd printed %q, want a set line for AWS_CONTAINER_CREDENTIALS_FULL_URI", printed)
	}
	if bytes.Contains(printed, []byte(token)) {
		t.Errorf("serve printed the token it was given")
	}
}

// checkGoSDKProcess runs the Go SDK's processcreds, which on Windows runs
// the whole credential_process line through cmd.exe /C, with three forms
// of the line. A quoted path with spaces fails with cmd.exe's 9009 ("not
// recognized"): aws/aws-sdk-go-v2#3208, whose fix was closed unmerged. It
// is pinned here as an expected failure so that the day the SDK fixes it,
// this test says so and docs/platforms.md can change. The two workarounds
// the docs give pass: the bare name on PATH, and the 8.3 short path.
func checkGoSDKProcess(t *testing.T, w *wine) {
	r := w.run(t, nil, sdkWin, "-shortpath", exeWin)
	short := strings.TrimSpace(r.stdout)
	if r.status != 0 || short == "" || strings.Contains(short, " ") {
		t.Fatalf("GetShortPathNameW(%s): want a path without spaces\n%s", exeWin, r)
	}
	t.Logf("8.3 short path of %s: %s", exeWin, short)
	args := fmt.Sprintf("--role %s --session-name %s", role, session)
	const cfg = `C:\aws\config`
	config := fmt.Sprintf("[profile quoted-path]\r\ncredential_process = \"%s\" %s\r\n\r\n"+
		"[profile bare-name]\r\ncredential_process = gcp-aws-cred.exe %s\r\n\r\n"+
		"[profile bare-name-no-exe]\r\ncredential_process = gcp-aws-cred %s\r\n\r\n"+
		"[profile short-path]\r\ncredential_process = %s %s\r\n",
		exeWin, args, args, args, short, args)
	w.write(t, cfg, []byte(config))
	env := []string{
		"AWS_CONFIG_FILE=" + cfg,
		`AWS_SHARED_CREDENTIALS_FILE=C:\aws\no-credentials`,
		// Prepended to the Windows PATH: the folder a Scoop or winget
		// install puts on PATH.
		"WINEPATH=" + installDir,
	}

	t.Run("quoted path with spaces fails (aws/aws-sdk-go-v2#3208, expected)", func(t *testing.T) {
		r := w.run(t, env, sdkWin, "-profile", "quoted-path")
		got := sdkResult(t, r)
		if r.status == 0 {
			t.Fatalf("the Go SDK ran a quoted path with spaces: aws/aws-sdk-go-v2#3208 looks fixed. Update docs/platforms.md (Windows) and make this an expected pass.\n%s", r)
		}
		if !strings.Contains(got.Error, "exit status 9009") {
			t.Fatalf("want the SDK's error with cmd.exe's exit status 9009 (command not found)\n%s", r)
		}
		t.Logf("reproduced aws/aws-sdk-go-v2#3208:\nSDK error: %s\ncmd.exe said: %s", got.Error, strings.TrimSpace(r.stderr))
	})
	for _, tc := range []struct{ name, profile string }{
		{"bare name on PATH passes", "bare-name"},
		{"bare name without .exe on PATH passes", "bare-name-no-exe"},
		{"8.3 short path passes", "short-path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.run(t, env, sdkWin, "-profile", tc.profile)
			got := sdkResult(t, r)
			if r.status != 0 || got.Arn != wantARN || !got.CanExpire || r.stderr != "" {
				t.Fatalf("want %s from credentials that expire, and a silent stderr\n%s", wantARN, r)
			}
		})
	}
}
