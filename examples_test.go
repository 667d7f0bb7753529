package main

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cli"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/serve"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// TestExampleConfig parses every credential_process line of
// examples/aws-config the way botocore does (shell-like splitting) and checks
// the flags are valid and the endpoint resolves, so the examples cannot rot.
// It also holds the examples to what they teach: the AWS CLI and SDKs pass
// no profile setting to a credential process, so in every profile the STS
// region the credential process resolves on its own is the profile's region.
func TestExampleConfig(t *testing.T) {
	f, err := os.Open("examples/aws-config")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, env := range []string{"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(env, "")
	}
	type profile struct{ name, process, region string }
	var profiles []*profile
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "[") {
			profiles = append(profiles, &profile{name: line})
			continue
		}
		k, v, ok := strings.Cut(line, " = ")
		if !ok || len(profiles) == 0 {
			continue
		}
		switch p := profiles[len(profiles)-1]; k {
		case "credential_process":
			p.process = v
		case "region":
			p.region = v
		}
	}
	n := 0
	for _, p := range profiles {
		if p.process == "" {
			continue
		}
		n++
		args, err := shellSplit(p.process)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if args[0] != "gcp-aws-cred" {
			t.Errorf("%s does not run gcp-aws-cred", p.name)
		}
		// As a pasted line is parsed: cli.Parse is Run's path.
		c, kctx, err := cli.Parse(args[1:])
		if err == nil && kctx == nil {
			t.Errorf("%s asks for help, not credentials", p.name)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", p.name, err)
			continue
		}
		if kctx.Selected().Name != cli.ProcessName {
			t.Errorf("%s runs %q, not the credential process", p.name, kctx.Selected().Name)
			continue
		}
		o := &c.Process.Options
		if err := o.Check(); err != nil {
			t.Errorf("%s: %v", p.name, err)
		}
		if _, err := sts.New(o.STSConfig()); err != nil {
			t.Errorf("%s: %v", p.name, err)
		}
		region, source, _ := o.STSRegion()
		if p.region != "" && region != p.region {
			t.Errorf("%s: the profile's region is %s, but STS is called in %s (%s): put --region %s on the credential_process line", p.name, p.region, region, source, p.region)
		}
	}
	if n < 3 {
		t.Errorf("only %d credential_process lines", n)
	}
}

// parseServe runs a serve command line of an example through the real
// parser and, unless it is a probe (serve --check, which makes none), the
// checks serve makes before any network call. It returns nil, having
// failed the test, for a line that is not serve.
func parseServe(t *testing.T, where string, args []string) *cli.ServeCmd {
	t.Helper()
	for _, env := range []string{"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONTAINER_AUTHORIZATION_TOKEN"} {
		t.Setenv(env, "")
	}
	c, kctx, err := cli.Parse(args)
	if err != nil || kctx == nil {
		t.Errorf("%s: %v (or a request for help)", where, err)
		return nil
	}
	if kctx.Selected().Name != "serve" {
		t.Errorf("%s runs %q, not serve", where, kctx.Selected().Name)
		return nil
	}
	srv := &c.Serve
	if srv.CheckHealth {
		return srv
	}
	if err := srv.Check(); err != nil {
		t.Errorf("%s: %v", where, err)
	}
	if _, err := sts.New(srv.STSConfig()); err != nil {
		t.Errorf("%s: %v", where, err)
	}
	return srv
}

// TestExampleSidecar checks examples/k8s-sidecar.yaml: the sidecar's
// arguments and its probes' commands parse, the server listens on
// loopback, and the application's endpoint is the sidecar's.
func TestExampleSidecar(t *testing.T) {
	b, err := os.ReadFile("examples/k8s-sidecar.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	// The sidecar's args: a block sequence under "args:".
	var args []string
	for i, l := range lines {
		if strings.TrimSpace(l) != "args:" {
			continue
		}
		for _, item := range lines[i+1:] {
			v, ok := strings.CutPrefix(strings.TrimSpace(item), "- ")
			if !ok {
				break
			}
			args = append(args, v)
		}
	}
	sidecar := parseServe(t, "the sidecar's args", args)
	if sidecar == nil || sidecar.CheckHealth {
		t.Fatalf("the sidecar runs %v, want serve", args)
	}
	listen, err := serve.ListenAddr(sidecar.Listen)
	if err != nil || listen.Port() == 0 {
		t.Fatalf("the sidecar listens on %q (%v): clients need a fixed loopback port", sidecar.Listen, err)
	}
	// The probes: flow sequences naming the binary.
	probes := 0
	for _, l := range lines {
		seq, ok := strings.CutPrefix(strings.TrimSpace(l), "command: [/usr/local/bin/gcp-aws-cred, ")
		if !ok {
			continue
		}
		probes++
		probe := strings.Split(strings.TrimSuffix(seq, "]"), ", ")
		c := parseServe(t, "probe "+seq, probe)
		if c == nil || !c.CheckHealth || c.Listen != listen.String() {
			t.Errorf("probe %v does not check the sidecar at %s", probe, listen)
		}
	}
	if probes != 3 {
		t.Errorf("%d probes, want startup, readiness and liveness", probes)
	}
	text := string(b)
	if want := "name: AWS_CONTAINER_CREDENTIALS_FULL_URI\n          value: http://" + listen.String() + serve.CredentialsPath + "\n"; !strings.Contains(text, want) {
		t.Errorf("the application is not pointed at the sidecar: no %q", want)
	}
	if n := strings.Count(text, "name: AWS_CONTAINER_AUTHORIZATION_TOKEN\n          valueFrom:\n            secretKeyRef: {name: gcp-aws-cred-token, key: token}"); n != 2 {
		t.Errorf("%d containers take the token from the Secret, want both", n)
	}
}

// TestExampleUnit checks examples/gcp-aws-cred.service: ExecStart parses,
// listens on loopback at the port clients are told, reads the token
// systemd hands it, and the unit leaves no path writable.
func TestExampleUnit(t *testing.T) {
	b, err := os.ReadFile("examples/gcp-aws-cred.service")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	var exec string
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			exec = v
		}
	}
	args, err := shellSplit(strings.ReplaceAll(exec, "%d", "/run/credentials/gcp-aws-cred.service"))
	if err != nil || len(args) < 2 || filepath.Base(args[0]) != "gcp-aws-cred" {
		t.Fatalf("ExecStart=%s: %v", exec, err)
	}
	// The role comes from the unit's EnvironmentFile, as the packages install it.
	t.Setenv("GCP_AWS_CRED_ROLE", "arn:aws:iam::123456789012:role/aws-allow-gcp-access")
	unit := parseServe(t, "ExecStart", args[1:])
	if unit == nil {
		t.Fatalf("ExecStart=%s does not run serve", exec)
	}
	listen, err := serve.ListenAddr(unit.Listen)
	if err != nil || listen.Port() == 0 {
		t.Fatalf("the unit listens on %q (%v)", unit.Listen, err)
	}
	if !strings.Contains(text, "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://"+listen.String()+serve.CredentialsPath+"\n") {
		t.Error("the clients' FULL_URI in the comment is not the unit's address")
	}
	if unit.AuthTokenFile != "/run/credentials/gcp-aws-cred.service/token" || !strings.Contains(text, "\nLoadCredential=token:/etc/gcp-aws-cred/token\n") {
		t.Errorf("--auth-token-file %s is not the credential systemd loads", unit.AuthTokenFile)
	}
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n"} {
		if !strings.Contains(text, "\n"+want) {
			t.Errorf("no %s", want)
		}
	}
	for _, writable := range []string{"ReadWritePaths", "StateDirectory", "CacheDirectory", "LogsDirectory", "RuntimeDirectory"} {
		if strings.Contains(text, "\n"+writable+"=") {
			t.Errorf("%s makes a path writable", writable)
		}
	}
}

// shellSplit splits a command line as shlex and sh do for the quoting the
// examples use: single and double quotes, backslash outside quotes.
func shellSplit(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, io.ErrUnexpectedEOF
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}

// TestExampleSocket checks examples/gcp-aws-cred.socket: it listens, once,
// on loopback, at the address the service's --listen names, and passes the
// listening socket (Accept=no) rather than one connection per process.
func TestExampleSocket(t *testing.T) {
	sock, err := os.ReadFile("examples/gcp-aws-cred.socket")
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile("examples/gcp-aws-cred.service")
	if err != nil {
		t.Fatal(err)
	}
	var listens []string
	for _, l := range strings.Split(string(sock), "\n") {
		if v, ok := strings.CutPrefix(l, "ListenStream="); ok {
			listens = append(listens, v)
		}
	}
	if len(listens) != 1 {
		t.Fatalf("ListenStream %q, want exactly one: serve takes one socket", listens)
	}
	addr, err := serve.ListenAddr(listens[0])
	if err != nil || addr.Port() == 0 {
		t.Fatalf("ListenStream=%s: %v", listens[0], err)
	}
	if !strings.Contains(string(unit), " --listen "+addr.String()+" ") {
		t.Errorf("the service's --listen is not the socket's %s", addr)
	}
	if !strings.Contains(string(sock), "\nAccept=no\n") {
		t.Error("no Accept=no")
	}
}
