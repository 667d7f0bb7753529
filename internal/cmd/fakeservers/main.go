// Command fakeservers is the local sandbox: the project's fake metadata
// server and fake STS on loopback, for trying gcp-aws-cred and the AWS CLI
// by hand, for scripts and for the benchmark.
//
//	go run ./internal/cmd/fakeservers [--mode gce|gke|cloudrun] [--for 1h] [--config FILE] [--moto URL]
//
// It prints a shell script to stdout, in one write: export lines that point
// gcp-aws-cred and the AWS CLI at the fakes, and as comments the sandbox's
// roles and a ready ~/.aws/config profile whose credential_process carries
// --sts-endpoint. Then it serves until SIGINT, SIGTERM or SIGHUP, or until
// --for has passed, so a forgotten one stops by itself. It never reads
// stdin, so it runs in the background (fakeservers > sandbox.env &) without
// being stopped for terminal input or ending when stdin is /dev/null.
//
// The fake STS answers AssumeRoleWithWebIdentity, and GetCallerIdentity for
// the keys it issued, so the AWS CLI's own `sts get-caller-identity` can be
// pointed at it too. Every other AWS service is pointed at it as well
// (AWS_ENDPOINT_URL), where it is refused, so nothing from the sandbox shell
// reaches AWS, unless --moto names a moto server to send them to.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

// profile is the name of the AWS config profile the sandbox prints.
const profile = "sandbox"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	lifetime  time.Duration
	mode      fakes.Platform
	instance  string
	refuseFor time.Duration
	noFlavor  bool
	moto      string
	config    string
	bin       string
	stsLife   time.Duration
	cli       awsCLI // the aws on PATH, found at start
	adcDir    string // the ADC files for --impersonate, made by run
	signin    string // the fake sign-in federation endpoint's URL, for console
}

// optionalDuration is a duration flag whose default depends on other
// flags: unset, it holds -1 and prints no default of its own in --help,
// whose text says what the default is.
type optionalDuration time.Duration

func (d *optionalDuration) String() string {
	if d == nil || *d <= 0 {
		return "" // as the zero value prints, so --help adds no default
	}
	return time.Duration(*d).String()
}

func (d *optionalDuration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration, such as 3s")
	}
	*d = optionalDuration(v)
	return nil
}

func parse(args []string, stderr io.Writer) (options, error) {
	o := options{refuseFor: -1}
	fs := flag.NewFlagSet("fakeservers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: fakeservers [flags]\n\nServes a fake metadata server and a fake STS on loopback and prints, to stdout,\nthe export lines that point gcp-aws-cred and the AWS CLI at them.\n\n")
		fs.PrintDefaults()
	}
	fs.DurationVar(&o.lifetime, "for", time.Hour, "stop after this long")
	mode := fs.String("mode", string(fakes.ComputeEngine), "the metadata server to act as: gce (a Compute Engine VM), gke (GKE Workload Identity: format=full answered 400, no instance claim, connections refused at first), cloudrun (Cloud Run or Cloud Functions: no instance claim)")
	fs.StringVar(&o.instance, "instance", fakes.DefaultInstanceName, "the VM's name in full-format tokens (gce only)")
	fs.Var((*optionalDuration)(&o.refuseFor), "refuse-for", "refuse connections to the metadata server for this `duration` after start (default 3s with --mode gke, else 0)")
	fs.BoolVar(&o.noFlavor, "no-flavor", false, "leave the Metadata-Flavor: Google header out of the metadata server's responses, as older GKE versions did")
	fs.StringVar(&o.moto, "moto", "", "a moto server's URL (python3 -m moto.server -p 5000: http://127.0.0.1:5000) to send the AWS CLI's calls to services other than STS to")
	fs.StringVar(&o.config, "config", "", "also write the profile to this new file, export AWS_CONFIG_FILE naming it, and remove it on exit")
	fs.DurationVar(&o.stsLife, "sts-lifetime", 0, "lifetime of the credentials the fake STS issues, whatever was asked (0: as asked); for trying a serve that refreshes in seconds")
	fs.StringVar(&o.bin, "bin", "gcp-aws-cred", "the gcp-aws-cred command in the profile's credential_process: a name on PATH or an absolute path")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.mode = fakes.Platform(*mode)
	known := false
	for _, p := range fakes.Platforms {
		known = known || p == o.mode
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case !known:
		return o, fmt.Errorf("--mode %q: want gce, gke or cloudrun", *mode)
	case set["instance"] && o.mode != fakes.ComputeEngine:
		return o, fmt.Errorf("--instance is for --mode gce: on %s the token names no instance", o.mode)
	case o.lifetime <= 0:
		return o, fmt.Errorf("--for %s: want a positive duration", o.lifetime)
	case o.refuseFor < 0 && o.mode == fakes.GKE:
		o.refuseFor = 3 * time.Second
	case o.refuseFor < 0:
		o.refuseFor = 0
	}
	if o.moto != "" {
		u, err := url.Parse(o.moto)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("--moto %q: want the server's URL, such as http://127.0.0.1:5000", o.moto)
		}
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "fakeservers:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// Which AWS CLI the sandbox shell will run (a Python start, a second or
	// so), before the fakes start: --refuse-for counts from their start,
	// and the script follows it at once.
	o.cli = findAWSCLI(ctx)

	srv, err := fakes.StartWith(fakes.Options{
		Platform:          o.mode,
		RefuseMetadataFor: o.refuseFor,
		OmitFlavorHeader:  o.noFlavor,
		Roles:             fakes.SandboxRoles(),
	})
	if err != nil {
		fmt.Fprintln(stderr, "fakeservers:", err)
		return 1
	}
	defer srv.Close()
	srv.STS.Lifetime(o.stsLife)
	if o.mode == fakes.ComputeEngine {
		instance := fakes.DefaultInstance()
		instance["instance_name"] = o.instance
		srv.Metadata.SetInstance(instance)
	}

	// The sign-in federation endpoint, for console: without it a console
	// command pasted in the sandbox shell would send the fake keys to AWS.
	signin, err := startSignin(srv.STS)
	if err != nil {
		fmt.Fprintln(stderr, "fakeservers:", err)
		return 1
	}
	defer signin.Close()
	o.signin = "http://" + signin.Addr().String() + "/federation"

	if o.cli.ignoresEndpointVars() {
		fmt.Fprint(stderr, "fakeservers: warning: "+strings.Join(o.cli.endpointAdvice(), "\nfakeservers: "), "\n")
	}

	adcDir, err := writeADCFiles(srv.Google)
	if err != nil {
		fmt.Fprintln(stderr, "fakeservers:", err)
		return 1
	}
	defer os.RemoveAll(adcDir)
	o.adcDir = adcDir

	ini := profileINI(o, srv)
	if o.config != "" {
		if err := writeNew(o.config, ini); err != nil {
			fmt.Fprintln(stderr, "fakeservers:", err)
			return 1
		}
		defer os.Remove(o.config)
	}
	// One write, so a script that waits for the file to be non-empty reads
	// all of it.
	if _, err := io.WriteString(stdout, script(o, srv, ini)); err != nil {
		fmt.Fprintln(stderr, "fakeservers: writing the environment:", err)
		return 1
	}

	timer := time.NewTimer(o.lifetime)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
		fmt.Fprintf(stderr, "fakeservers: stopped after %s (--for)\n", o.lifetime)
	}
	return 0
}

// startSignin serves a fake AWS sign-in federation endpoint on loopback,
// which accepts the keys sts issued; closing the listener stops it.
func startSignin(sts *fakes.STS) (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: &fakes.Federation{STS: sts}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return l, nil
}

// profileINI is the AWS config profile that runs gcp-aws-cred against the
// fakes. --sts-endpoint on the credential_process line sends only our
// binary to the fake STS, whatever the shell's AWS_ENDPOINT_URL_STS says.
func profileINI(o options, srv *fakes.Servers) string {
	return fmt.Sprintf("[profile %s]\ncredential_process = %s --role %s --sts-endpoint %s\nregion = us-east-1\n",
		profile, o.bin, fakes.AllowedRole, srv.STSURL)
}

// script is what goes to stdout: export lines, and the rest as comments.
func script(o options, srv *fakes.Servers, ini string) string {
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	line("# gcp-aws-cred sandbox: fakes on loopback, serving until Ctrl-C, SIGTERM or %s from now (--for).", o.lifetime)
	line("# The metadata server of %s.", describe(o))
	line("export GCE_METADATA_HOST=%s", srv.MetadataHost)
	line("# The fake STS answers AssumeRoleWithWebIdentity, and GetCallerIdentity for the keys it")
	if o.cli.ignoresEndpointVars() {
		line("# issued, so the AWS CLI's own `sts get-caller-identity` works against it.")
		for _, l := range o.cli.endpointAdvice() {
			line("# %s", l)
		}
	} else {
		line("# issued, so the AWS CLI's own `sts get-caller-identity` works against it. (AWS CLI v2")
		line("# before 2.13 ignores these variables: give it --endpoint-url \"$AWS_ENDPOINT_URL_STS\".)")
	}
	line("export AWS_ENDPOINT_URL_STS=%s", srv.STSURL)
	if o.moto != "" {
		line("# Every other AWS service: the moto server.")
		line("export AWS_ENDPOINT_URL=%s", shellQuote(o.moto))
	} else {
		line("# Every other AWS service: the fake STS too, which refuses them, so nothing reaches AWS.")
		line("# (--moto URL sends them to a moto server instead.)")
		line("export AWS_ENDPOINT_URL=%s", srv.STSURL)
	}
	line("# A fake AWS sign-in federation endpoint, for console, which has no variable for it:")
	line("#   %s console --role %s --stdout --federation-endpoint \"$SANDBOX_FEDERATION_ENDPOINT\"", o.bin, fakes.AllowedRole)
	line("export SANDBOX_FEDERATION_ENDPOINT=%s", o.signin)
	if o.config != "" {
		line("# The profile below, in a file of its own (removed when the sandbox stops).")
		line("export AWS_CONFIG_FILE=%s", shellQuote(absolute(o.config)))
	}
	line("#")
	line("# Roles (account %s; the workload's service account has unique ID %s):", fakes.SandboxAccount, fakes.DefaultUniqueID)
	line("#   %-52s admits this workload (trust pinned to its unique ID and sts.amazonaws.com)", fakes.AllowedRole)
	line("#   %-52s trusts another service account: AccessDenied", fakes.DeniedRole)
	line("#   %-52s admits this workload, maximum session 1h: --duration 2h fails", fakes.OneHourRole)
	line("#   %-52s admits sessions of aws-allow-gcp-access (AssumeRole): --chain-role", fakes.ChainedRole)
	line("#   %-52s admits sessions of sandbox-deploy with --external-id %s", fakes.ExternalIDRole, fakes.SandboxExternalID)
	line("#")
	if o.config != "" {
		line("# The profile, written to %s:", o.config)
	} else {
		line("# A profile for ~/.aws/config (or for a file named by AWS_CONFIG_FILE; --config FILE writes one):")
	}
	for _, l := range strings.Split(strings.TrimSuffix(ini, "\n"), "\n") {
		line("#   %s", l)
	}
	impersonation(line, o, srv)
	line("#")
	line("# Stop it with Ctrl-C, or: kill %d", os.Getpid())
	return b.String()
}

// describe says what the metadata server acts as.
func describe(o options) string {
	var notes []string
	switch o.mode {
	case fakes.ComputeEngine:
		notes = append(notes, fmt.Sprintf("a Compute Engine VM named %q", o.instance))
	case fakes.GKE:
		notes = append(notes, "a GKE pod: format=full answered 400, no instance claim")
	case fakes.CloudRun:
		notes = append(notes, "Cloud Run: no instance claim")
	}
	if o.refuseFor > 0 {
		notes = append(notes, fmt.Sprintf("connections refused for the first %s", o.refuseFor))
	}
	if o.noFlavor {
		notes = append(notes, "no Metadata-Flavor header in its responses")
	}
	return strings.Join(notes, "; ")
}

// writeNew writes the profile to a file that must not exist yet: the file
// is removed on exit, so it must never be someone's real config.
func writeNew(path, ini string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("--config %s: the file exists; give a new file's name (it is removed when the sandbox stops, so it must not be a config you keep)", path)
	}
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	if _, err := f.WriteString(ini); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("--config: %w", err)
	}
	return f.Close()
}

func absolute(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// awsCLI is the aws command on PATH: where it is and the version it says.
type awsCLI struct {
	path    string
	version string // "2.9.19"; empty when there is none or it did not say
}

// findAWSCLI runs `aws --version` from PATH, for at most 10 seconds.
func findAWSCLI(ctx context.Context) awsCLI {
	path, err := exec.LookPath("aws")
	if err != nil {
		return awsCLI{}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// v1 prints its version to stderr, v2 to stdout.
	out, _ := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	return awsCLI{path: path, version: parseAWSVersion(string(out))}
}

// parseAWSVersion reads "aws-cli/2.9.19 Python/3.11.2 Linux/…" or "".
func parseAWSVersion(out string) string {
	for _, f := range strings.Fields(out) {
		if v, ok := strings.CutPrefix(f, "aws-cli/"); ok {
			return v
		}
	}
	return ""
}

// ignoresEndpointVars reports whether this is AWS CLI v2 before 2.13, which
// predates AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_STS: its own calls would
// go to real AWS. (Debian packages 2.9.)
func (c awsCLI) ignoresEndpointVars() bool {
	parts := strings.SplitN(c.version, ".", 3)
	if len(parts) < 2 || parts[0] != "2" {
		return false
	}
	minor, err := strconv.Atoi(parts[1])
	return err == nil && minor < 13
}

// endpointAdvice says what to type instead, for a CLI that ignores the
// variables: the exact commands, with the endpoint given on each.
func (c awsCLI) endpointAdvice() []string {
	return []string{
		fmt.Sprintf("Your AWS CLI (%s, aws-cli/%s) is v2 before 2.13: it ignores AWS_ENDPOINT_URL_STS", c.path, c.version),
		"and AWS_ENDPOINT_URL, so without --endpoint-url its calls go to real AWS. Give the endpoint on each:",
		fmt.Sprintf("  aws --profile %s sts get-caller-identity --endpoint-url \"$AWS_ENDPOINT_URL_STS\"", profile),
		fmt.Sprintf("  aws --profile %s s3 ls --endpoint-url \"$AWS_ENDPOINT_URL\"", profile),
		"(gcp-aws-cred itself reads the variables; the profile's line also carries --sts-endpoint.)",
	}
}

// writeADCFiles writes an Application Default Credentials file of each
// kind for the Google fake into a new temporary directory, which run
// removes on exit, with the subject token an external_account file reads.
func writeADCFiles(g *fakes.Google) (string, error) {
	dir, err := os.MkdirTemp("", "gcp-aws-cred-sandbox-adc-")
	if err != nil {
		return "", err
	}
	subject := filepath.Join(dir, "subject-token")
	err = os.WriteFile(subject, []byte(fakes.SubjectToken), 0o600)
	for _, kind := range fakes.ADCKinds {
		var b []byte
		if err == nil {
			b, err = g.ADCFile(kind, subject)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, kind+".json"), b, 0o600)
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("writing the ADC files: %w", err)
	}
	return dir, nil
}

// impersonation writes the comments and the export line for trying
// --impersonate: the fake IAM Credentials API, an ADC file of each kind,
// and a command that uses one.
func impersonation(line func(string, ...any), o options, srv *fakes.Servers) {
	line("#")
	line("# Impersonation (--impersonate): a fake Google token endpoint, Workload Identity")
	line("# Federation exchange and IAM Credentials API; the ID tokens it mints for")
	line("# %s (unique ID %s) pass at the fake STS.", fakes.TargetEmail, fakes.TargetUniqueID)
	line("export GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT=%s", srv.Google.URL)
	line("#   %-52s admits the impersonated account", fakes.ImpersonatedRole)
	line("# ADC files, one per caller type (removed when the sandbox stops):")
	for _, kind := range fakes.ADCKinds {
		line("#   %s", shellQuote(filepath.Join(o.adcDir, kind+".json")))
	}
	line("# Try, from a \"laptop\" (a user login):")
	line("#   GOOGLE_APPLICATION_CREDENTIALS=%s %s --impersonate %s --role %s --sts-endpoint %s",
		shellQuote(filepath.Join(o.adcDir, fakes.AuthorizedUser+".json")), o.bin, fakes.TargetEmail, fakes.ImpersonatedRole, srv.STSURL)
	line("#   (doctor takes the same flags; token and trust-policy take the variable and")
	line("#   --impersonate %s alone, as they make no exchange. Without the", fakes.TargetEmail)
	line("#   variable, the metadata server's account is the caller)")
}
