package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/testbin"
)

// The deployment examples are run, not just read: the Compute Engine startup
// script installs a binary from a loopback "release" and writes an AWS config
// whose credential_process then works; the Cloud Run app serves the identity
// boto3 gets through gcp-aws-cred; the GKE pod's commands run.

const exampleRole = "arn:aws:iam::123456789012:role/aws-allow-gcp-access"

func requireCommands(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found (CI=true: a missing tool is a failure, not a skip)", n)
			}
			t.Skipf("%s not found", n)
		}
	}
}

// gceWorld is a fake Compute Engine VM for the startup script: a metadata
// server with instance attributes, an STS, and an HTTPS "release download"
// serving the binary.
type gceWorld struct {
	root      string // the script's GCP_AWS_CRED_ROOT
	sum       string // SHA-256 of the served binary
	downloads atomic.Int32
	attrs     map[string]string
	sts       *fakes.STS
	env       []string
}

func newGCEWorld(t *testing.T) *gceWorld {
	t.Helper()
	requireCommands(t, "bash", "curl", "sha256sum")
	testbin.StatSources()
	bin, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	w := &gceWorld{
		root:  t.TempDir(),
		sum:   hex.EncodeToString(sum[:]),
		attrs: map[string]string{"aws-role-arn": exampleRole, "aws-region": "eu-west-1"},
	}

	md, err := fakes.NewMetadata()
	if err != nil {
		t.Fatal(err)
	}
	mdSrv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/computeMetadata/v1/instance/attributes/")
		if !ok {
			md.ServeHTTP(rw, r)
			return
		}
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(rw, "missing Metadata-Flavor", http.StatusForbidden)
			return
		}
		v, ok := w.attrs[name]
		if !ok {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set("Metadata-Flavor", "Google")
		_, _ = io.WriteString(rw, v)
	}))
	t.Cleanup(mdSrv.Close)
	w.sts = fakes.NewSTS(&md.Key.PublicKey)
	stsSrv := httptest.NewServer(w.sts)
	t.Cleanup(stsSrv.Close)

	arch := runtime.GOARCH
	release := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1.2.3/gcp-aws-cred_1.2.3_linux_"+arch {
			http.NotFound(rw, r)
			return
		}
		w.downloads.Add(1)
		_, _ = rw.Write(bin)
	}))
	t.Cleanup(release.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: release.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	w.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"GCP_AWS_CRED_ROOT=" + w.root,
		"GCP_AWS_CRED_BASE_URL=" + release.URL,
		"GCP_AWS_CRED_VERSION=1.2.3",
		"GCP_AWS_CRED_SHA256_LINUX_AMD64=" + w.sum,
		"GCP_AWS_CRED_SHA256_LINUX_ARM64=" + w.sum,
		"CURL_CA_BUNDLE=" + ca,
		"GCE_METADATA_HOST=" + strings.TrimPrefix(mdSrv.URL, "http://"),
		"AWS_ENDPOINT_URL_STS=" + stsSrv.URL,
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
	}
	return w
}

// run runs the startup script with extra environment settings.
func (w *gceWorld) run(t *testing.T, extra ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(moduleRoot(t), "examples", "gce-startup.sh"))
	cmd.Env = append(append([]string{}, w.env...), extra...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

func TestGCEStartupScript(t *testing.T) {
	w := newGCEWorld(t)
	out, errOut, err := w.run(t)
	if err != nil {
		t.Fatalf("startup script: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	installed := filepath.Join(w.root, "usr", "local", "bin", "gcp-aws-cred")
	fi, err := os.Stat(installed)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("installed binary has mode %v, want 0755", fi.Mode().Perm())
	}
	if !strings.Contains(out, "installed gcp-aws-cred v1.2.3 at "+installed) {
		t.Errorf("the script's output does not say it installed the binary:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^\[ok\]\s+exchange$`).MatchString(out) {
		t.Errorf("doctor did not report a working exchange:\n%s", out)
	}
	if errOut != "" {
		t.Errorf("stderr on success:\n%s", errOut)
	}

	// The config it wrote: a default profile whose credential_process gives
	// credentials, the region from the metadata, and AWS_CONFIG_FILE for
	// login sessions.
	config := filepath.Join(w.root, "etc", "aws", "config")
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\n[default]\n") || !strings.Contains(string(b), "\nregion = eu-west-1\n") {
		t.Errorf("config lacks the default profile or the region:\n%s", b)
	}
	m := regexp.MustCompile(`(?m)^credential_process = (.*)$`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("no credential_process line in\n%s", b)
	}
	args := strings.Fields(m[1])
	if want := installed + " --role " + exampleRole + " --region eu-west-1"; m[1] != want {
		t.Errorf("credential_process = %s, want %s", m[1], want)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = w.env
	doc, err := cmd.Output()
	if err != nil {
		t.Fatalf("credential_process: %v", err)
	}
	var creds struct {
		Version     int
		AccessKeyId string
	}
	if err := json.Unmarshal(doc, &creds); err != nil || creds.Version != 1 || creds.AccessKeyId == "" {
		t.Errorf("credential_process printed an unusable document (%v)", err)
	}
	env := filepath.Join(w.root, "etc", "environment")
	if b, _ := os.ReadFile(env); string(b) != "AWS_CONFIG_FILE="+config+"\n" {
		t.Errorf("/etc/environment is %q", b)
	}

	// The next boot: the binary in place has the pinned hash, so nothing is
	// downloaded, and nothing is added twice.
	if out, errOut, err := w.run(t); err != nil {
		t.Fatalf("second boot: %v\n%s%s", err, out, errOut)
	} else if !strings.Contains(out, "already installed") {
		t.Errorf("second boot did not find the binary in place:\n%s", out)
	}
	if n := w.downloads.Load(); n != 1 {
		t.Errorf("%d downloads over two boots, want 1", n)
	}
	if b, _ := os.ReadFile(env); string(b) != "AWS_CONFIG_FILE="+config+"\n" {
		t.Errorf("after the second boot /etc/environment is %q", b)
	}
}

// TestGCEStartupScriptRefuses covers each way the script must stop, with
// the message it must print, and installs nothing on the way.
func TestGCEStartupScriptRefuses(t *testing.T) {
	other := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name  string
		extra []string
		attrs map[string]string
		want  string
	}{{
		name:  "a download that does not match the pinned hash",
		extra: []string{"GCP_AWS_CRED_SHA256_LINUX_AMD64=" + other, "GCP_AWS_CRED_SHA256_LINUX_ARM64=" + other},
		want:  "not the pinned " + other + ": not installed",
	}, {
		name:  "no hash pinned",
		extra: []string{"GCP_AWS_CRED_SHA256_LINUX_AMD64=", "GCP_AWS_CRED_SHA256_LINUX_ARM64="},
		want:  "no SHA-256 pinned for linux/",
	}, {
		name:  "no role in the instance metadata",
		attrs: map[string]string{},
		want:  "the instance has no metadata attribute aws-role-arn",
	}, {
		name:  "a role that is not a role ARN",
		attrs: map[string]string{"aws-role-arn": "arn:aws:iam::123456789012:role/x\ncredential_process = evil"},
		want:  "metadata attribute aws-role-arn is not an IAM role ARN",
	}, {
		name:  "a release that is not there",
		extra: []string{"GCP_AWS_CRED_VERSION=9.9.9"},
		want:  "cannot download https://127.0.0.1:",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newGCEWorld(t)
			if tc.attrs != nil {
				w.attrs = tc.attrs
			}
			out, errOut, err := w.run(t, tc.extra...)
			if err == nil {
				t.Fatalf("the script succeeded:\n%s", out)
			}
			// curl may say something first; the script's own line must follow.
			if !regexp.MustCompile(`(?m)^gcp-aws-cred startup: error: .*` + regexp.QuoteMeta(tc.want)).MatchString(errOut) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, errOut)
			}
			entries, _ := os.ReadDir(filepath.Join(w.root, "usr", "local", "bin"))
			for _, e := range entries {
				t.Errorf("left %s behind", e.Name())
			}
			if _, err := os.Stat(filepath.Join(w.root, "etc", "aws", "config")); err == nil {
				t.Error("wrote an AWS config anyway")
			}
		})
	}
}

// TestGCEStartupScriptTrustFailure: when the role does not trust the VM the
// script still installs, says so on the console, and exits 0 (a startup
// script failing helps nobody; the binary is ready for the fixed policy).
func TestGCEStartupScriptTrustFailure(t *testing.T) {
	w := newGCEWorld(t)
	w.sts.Roles = map[string]fakes.Role{exampleRole: {MaxSessionDuration: time.Hour, Trust: &fakes.Trust{Sub: "1"}}}
	out, errOut, err := w.run(t)
	if err != nil {
		t.Fatalf("startup script: %v\n%s\n%s", err, out, errOut)
	}
	if !strings.Contains(errOut, "AWS calls will fail until the trust policy admits this VM") {
		t.Errorf("stderr lacks the warning:\n%s", errOut)
	}
	if !regexp.MustCompile(`(?m)^\[fail\]\s+exchange$`).MatchString(out) || !strings.Contains(out, "AccessDenied") {
		t.Errorf("doctor's report does not show the exchange failing with AccessDenied:\n%s", out)
	}
}

// TestCloudRunExample runs examples/cloudrun/app.py as the image would: its
// AWS config, gcp-aws-cred on PATH, the role from GCP_AWS_CRED_ROLE, and
// boto3 against moto's STS; GET / must answer the assumed role.
func TestCloudRunExample(t *testing.T) {
	testbin.StatSources()
	w := setup(t)
	dir := filepath.Join(moduleRoot(t), "examples", "cloudrun")
	checkCopyFromImage(t, filepath.Join(dir, "Dockerfile"))

	port := freePort(t)
	cmd := exec.Command(python(), filepath.Join(dir, "app.py"))
	cmd.SysProcAttr = orphanProof()
	cmd.Env = append(append([]string{}, w.env...),
		"AWS_CONFIG_FILE="+filepath.Join(dir, "aws-config"),
		"PATH="+filepath.Dir(w.bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"GCP_AWS_CRED_ROLE="+role,
		fmt.Sprintf("PORT=%d", port),
	)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		killGroup(cmd.Process)
		_ = cmd.Wait()
	})

	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	var resp *http.Response
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err = http.Get(url); err == nil {
			break
		}
	}
	if err != nil {
		log, _ := os.ReadFile(logFile.Name())
		t.Fatalf("app.py did not answer: %v\n%s", err, log)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var ident struct{ Account, Arn, Error string }
	if err := json.Unmarshal(body, &ident); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / answered %d %s (%v)", resp.StatusCode, body, err)
	}
	if ident.Account != account || !strings.HasPrefix(ident.Arn, "arn:aws:sts::"+account+":assumed-role/e2e-role/") {
		t.Errorf("GET / answered %s, want the assumed e2e-role", body)
	}
}

// checkCopyFromImage checks that a Dockerfile copies the binary from the
// release image at the path the release Dockerfile puts it.
func checkCopyFromImage(t *testing.T, dockerfile string) {
	t.Helper()
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	release, err := os.ReadFile(filepath.Join(moduleRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	const path = "/usr/local/bin/gcp-aws-cred"
	if !strings.Contains(string(release), `ENTRYPOINT ["`+path+`"]`) {
		t.Fatalf("the release Dockerfile no longer puts the binary at %s", path)
	}
	if !regexp.MustCompile(`(?m)^FROM ghcr\.io/gcp-aws-cred/gcp-aws-cred:v\d+\.\d+\.\d+ AS gcp-aws-cred$`).Match(b) ||
		!strings.Contains(string(b), "COPY --from=gcp-aws-cred "+path+" ") {
		t.Errorf("%s does not copy %s from the release image", dockerfile, path)
	}
}

// TestGKEExample runs what examples/gke-pod.yaml runs: the init container's
// doctor command, and the app's credential_process with the pod's role.
func TestGKEExample(t *testing.T) {
	testbin.StatSources()
	srv, err := fakes.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	env := append(srv.Env(), "PATH="+os.Getenv("PATH"), "HOME="+t.TempDir(), "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")

	f, err := os.Open(filepath.Join(moduleRoot(t), "examples", "gke-pod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var images []string
	var doctor []string
	var roleEnv string
	sc := bufio.NewScanner(f)
	for prev := ""; sc.Scan(); prev = sc.Text() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "image: "):
			images = append(images, strings.TrimPrefix(line, "image: "))
		case strings.HasPrefix(line, "args: "):
			// A flow sequence of strings: JSON.
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "args: ")), &doctor); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
		case strings.HasPrefix(line, "value: ") && strings.TrimSpace(prev) == "- name: GCP_AWS_CRED_ROLE":
			roleEnv = strings.TrimPrefix(line, "value: ")
		}
	}
	if len(images) != 2 || !regexp.MustCompile(`^ghcr\.io/gcp-aws-cred/gcp-aws-cred:v\d+\.\d+\.\d+$`).MatchString(images[0]) {
		t.Errorf("images %q: want the release image, then the app's", images)
	}
	if len(doctor) == 0 || doctor[0] != "doctor" || roleEnv == "" {
		t.Fatalf("found doctor args %q and role %q", doctor, roleEnv)
	}

	cmd := exec.Command(binPath, doctor...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the init container's gcp-aws-cred %s: %v\n%s", strings.Join(doctor, " "), err, out)
	}

	// The app container: the image's AWS config (the Cloud Run example's)
	// with the pod's role.
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), "examples", "cloudrun", "aws-config"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^credential_process = (.*)$`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("no credential_process in examples/cloudrun/aws-config:\n%s", b)
	}
	args := strings.Fields(m[1])
	if args[0] != "gcp-aws-cred" {
		t.Fatalf("credential_process = %s does not run gcp-aws-cred", m[1])
	}
	cmd = exec.Command(binPath, args[1:]...)
	cmd.Env = append(env, "GCP_AWS_CRED_ROLE="+roleEnv)
	doc, err := cmd.Output()
	if err != nil {
		t.Fatalf("credential_process with GCP_AWS_CRED_ROLE=%s: %v", roleEnv, err)
	}
	var creds struct{ Version int }
	if json.Unmarshal(doc, &creds) != nil || creds.Version != 1 {
		t.Error("the credential process printed no credentials document")
	}
}
