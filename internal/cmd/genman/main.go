// Command genman writes gcp-aws-cred's man page, gcp-aws-cred(1), from the
// command line's kong model, so the page never drifts from --help. The
// release configuration runs it before packaging:
//
//	go run ./internal/cmd/genman -version 1.2.3 -date 2026-12-01 -o build/gcp-aws-cred.1.gz
//
// The output is gzip-compressed when its name ends in .gz. The same inputs
// give the same bytes (no time or file name in the gzip header), so the
// packages stay reproducible.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cli"
)

func main() {
	out := flag.String("o", "-", "where to write the page; - is stdout; a name ending in .gz is gzip-compressed")
	version := flag.String("version", "", "the version the page's footer names")
	date := flag.String("date", "", "the page's date, YYYY-MM-DD (a release passes its commit's date)")
	flag.Parse()
	if err := write(*out, *version, *date); err != nil {
		fmt.Fprintln(os.Stderr, "genman:", err)
		os.Exit(1)
	}
}

func write(out, version, date string) error {
	var c cli.CLI
	page := Page(cli.NewParser(&c, io.Discard, io.Discard).Model, version, date)
	if strings.HasSuffix(out, ".gz") {
		var b bytes.Buffer
		z, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
		if err != nil {
			return err
		}
		if _, err := z.Write(page); err != nil {
			return err
		}
		if err := z.Close(); err != nil {
			return err
		}
		page = b.Bytes()
	}
	if out == "-" {
		_, err := os.Stdout.Write(page)
		return err
	}
	return os.WriteFile(out, page, 0o644)
}

// Page is the man page of the command line app, in roff (the man macros).
// version and date may be empty.
func Page(app *kong.Application, version, date string) []byte {
	var m man
	name := cli.Name
	if len(date) > 10 {
		date = date[:10] // an RFC 3339 time: its day
	}
	footer := name
	if version != "" {
		footer += " " + strings.TrimPrefix(version, "v")
	}
	m.printf(".TH %s 1 %s %s \"User Commands\"\n", quoteArg(strings.ToUpper(name)), quoteArg(date), quoteArg(footer))
	// Flags and ARNs are typed as written: no hyphenation, no justification.
	m.printf(".nr HY 0\n.nh\n.ad l\n")

	m.section("NAME")
	m.printf("%s \\- %s\n", name, esc(strings.TrimSuffix(app.Help, ".")))

	m.section("SYNOPSIS")
	m.printf(".SY %s\n.B \\-\\-role\n.I ARN\n.RI [ flags ]\n.YS\n", name)
	for _, c := range cli.Commands(app) {
		m.printf(".SY %s\n.B %s\n", name, esc(c.Name))
		for _, p := range c.Positional {
			m.printf(".I %s\n", esc(strings.ToUpper(p.Name)))
		}
		m.printf(".RI [ flags ]\n.YS\n")
	}

	process := cli.ProcessNode(app)
	m.section("DESCRIPTION")
	m.text(process.Detail)
	m.para("With no command word, " + name + " is the credential process that AWS tools run through credential_process: it prints the credential_process JSON document on stdout, in one write, and nothing on stderr. On failure stdout stays empty and stderr says \"" + name + ": error: ...\", then \"hint:\" lines where a fix is known.")

	m.section("OPTIONS")
	m.para("The flags of the credential process. Every command takes --help (-h) and --version.")
	m.flags(append(append([]*kong.Flag{}, process.Flags...), app.Flags...))

	m.section("COMMANDS")
	for _, c := range cli.Commands(app) {
		m.printf(".SS %s\n", quoteArg(name+" "+c.Name))
		m.para(c.Help)
		m.text(c.Detail)
		var own, shared []*kong.Flag
		for _, f := range c.Flags {
			if slices.ContainsFunc(process.Flags, func(g *kong.Flag) bool { return g.Name == f.Name && g.Help == f.Help }) {
				shared = append(shared, f)
			} else {
				own = append(own, f)
			}
		}
		if len(shared) > 0 {
			var names []string
			for _, f := range shared {
				names = append(names, "\\fB\\-\\-"+esc(f.Name)+"\\fR")
			}
			m.printf(".PP\nIt takes these flags of the credential process (see \\fBOPTIONS\\fR): %s.\n", strings.Join(names, ", "))
		}
		if len(c.Positional) > 0 || len(own) > 0 {
			m.printf(".PP\nIts own:\n")
			for _, p := range c.Positional {
				m.printf(".TP\n.I %s\n", esc(strings.ToUpper(p.Name)))
				m.printf("%s\n", esc(p.Help))
			}
			m.flags(own)
		}
	}

	m.section("ENVIRONMENT")
	m.para("A flag given on the command line wins over its variable. An empty variable counts as unset.")
	seen := map[string]bool{}
	for _, n := range append([]*kong.Node{process}, cli.Commands(app)...) {
		for _, f := range n.Flags {
			for _, env := range f.Envs {
				if seen[env] {
					continue
				}
				seen[env] = true
				m.printf(".TP\n.B %s\nThe default of \\fB\\-\\-%s\\fR.\n", esc(env), esc(f.Name))
			}
		}
	}
	for _, v := range environment {
		m.printf(".TP\n.B %s\n%s\n", esc(v[0]), esc(v[1]))
	}

	m.section("EXIT STATUS")
	for _, s := range cli.ExitStatuses {
		m.printf(".TP\n.B %d\n%s\n", s.Code, esc(s.Meaning))
	}
	m.para("exec exits with COMMAND's own status; exec --serve with 128 plus the signal's number when COMMAND died of a signal. serve exits 0 when stopped by SIGINT, SIGTERM or SIGHUP, and as the credential process does when its first exchange fails.")

	m.section("FILES")
	m.para(name + " writes no file: credentials, tokens and keys live in memory only. It reads the files named by --ca-bundle and --auth-token-file, and ~/.aws/config is read by the AWS tools that run it, not by " + name + ".")
	m.printf(".TP\n.I %s\n%s\n", esc("~/.config/gcloud/application_default_credentials.json"),
		esc("With --impersonate and no GOOGLE_APPLICATION_CREDENTIALS: the Application Default Credentials that gcloud auth application-default login writes (%APPDATA%\\gcloud\\application_default_credentials.json on Windows). Read, never written."))
	m.printf(".TP\n.I /usr/lib/systemd/system/%[1]s.service\n.TQ\n.I /usr/lib/systemd/system/%[1]s.socket\nThe units of the OS packages for serve, installed but not enabled; the socket unit holds the port across the service's restarts.\n"+
		".TP\n.I /etc/default/%[1]s\n.TQ\n.I /etc/sysconfig/%[1]s\nIts settings (Debian and Alpine; RPM), kept on upgrade.\n", name)

	m.section("EXAMPLES")
	for _, e := range examples {
		m.para(e[0])
		m.example(e[1])
	}

	m.section("SEE ALSO")
	m.printf(".BR aws (1),\n.BR systemctl (1)\n.PP\n.UR https://github.com/gcp-aws-cred/gcp-aws-cred\n.UE\n")
	return m.Bytes()
}

// environment are the variables read other than as a flag's default.
var environment = [][2]string{
	{"AWS_REGION, AWS_DEFAULT_REGION", "The STS region when --region is not given, in this order; else the role's partition's region (us-east-1, cn-north-1, us-gov-west-1). exec and serve set both for their clients when --region is given."},
	{"AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL", "The STS endpoint when --sts-endpoint is not given, in this order. http:// only on loopback."},
	{"GCE_METADATA_HOST", "The metadata server's host:port, instead of 169.254.169.254: for emulators and tests. No scheme, path or user."},
	{"AWS_CONTAINER_AUTHORIZATION_TOKEN", "serve: the token clients must send, when --auth-token-file is not given."},
	{"K_SERVICE", "The default --session-name on Cloud Run and Cloud Functions, when the instance has no name."},
	{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "When true, AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL are ignored, as the AWS tools ignore them."},
	{"GOOGLE_APPLICATION_CREDENTIALS", "With --impersonate: the Application Default Credentials file that signs the calls to the IAM Credentials API; else gcloud's file (FILES), else the metadata server."},
	{"HTTPS_PROXY, NO_PROXY", "The proxy for STS, and with --impersonate for Google's token and IAM Credentials endpoints, and the hosts that bypass it. The metadata server is never reached through a proxy."},
}

var examples = [][2]string{
	{"Check the whole chain, and explain the step that fails:", "gcp-aws-cred doctor --role arn:aws:iam::123456789012:role/aws-allow-gcp-access"},
	{"Print the trust policy for this workload and create the role with it:", "gcp-aws-cred trust-policy > trust.json\naws iam create-role --role-name aws-allow-gcp-access --assume-role-policy-document file://trust.json"},
	{"Run a script of many aws commands with one STS call:", "gcp-aws-cred exec --role arn:aws:iam::123456789012:role/etl -- ./nightly-sync.sh"},
	{"Serve credentials from memory to the processes of a VM, through the packaged unit:", "sudo install -d -m 0755 /etc/gcp-aws-cred\n(umask 027; head -c 32 /dev/urandom | base64 | tr -d '\\n' | sudo tee /etc/gcp-aws-cred/token >/dev/null)\nsudoedit /etc/default/gcp-aws-cred     # GCP_AWS_CRED_ROLE=arn:aws:iam::...\nsudo systemctl enable --now gcp-aws-cred.socket gcp-aws-cred"},
	{"Install completions by hand:", "gcp-aws-cred completion bash > /etc/bash_completion.d/gcp-aws-cred"},
}

// man builds a page.
type man struct{ bytes.Buffer }

func (m *man) printf(format string, args ...any) { fmt.Fprintf(m, format, args...) }

func (m *man) section(title string) { m.printf(".SH %s\n", quoteArg(title)) }

// para is one paragraph of plain text.
func (m *man) para(s string) {
	if strings.TrimSpace(s) != "" {
		m.printf(".PP\n%s\n", esc(strings.Join(strings.Fields(s), " ")))
	}
}

// example is a block of literal lines.
func (m *man) example(s string) {
	m.printf(".PP\n.RS 4\n.EX\n")
	for _, l := range strings.Split(s, "\n") {
		m.printf("%s\n", esc(l))
	}
	m.printf(".EE\n.RE\n")
}

// text is a help text as --help shows it: paragraphs separated by blank
// lines; a paragraph whose lines are all indented is an example.
func (m *man) text(s string) {
	for _, p := range strings.Split(strings.TrimSpace(s), "\n\n") {
		lines := strings.Split(p, "\n")
		if slices.ContainsFunc(lines, func(l string) bool { return !strings.HasPrefix(l, "  ") }) {
			m.para(p)
			continue
		}
		for i, l := range lines {
			lines[i] = strings.TrimSpace(l)
		}
		m.example(strings.Join(lines, "\n"))
	}
}

// flags describes flags as --help does: each spelling, its value, its help,
// its default and its variable.
func (m *man) flags(flags []*kong.Flag) {
	for _, f := range flags {
		if f.Hidden {
			continue
		}
		m.printf(".TP\n")
		if f.Short != 0 {
			m.printf("\\fB\\-%c\\fR, ", f.Short)
		}
		m.printf("\\fB\\-\\-%s\\fR", esc(f.Name))
		if !f.IsBool() {
			m.printf("=\\fI%s\\fR", esc(f.FormatPlaceHolder()))
		}
		m.printf("\n")
		help := f.Help
		if f.HasDefault && f.Default != "" && !f.IsBool() {
			help += " Default: " + f.Default + "."
		}
		if len(f.Envs) > 0 {
			help += " Variable: " + strings.Join(f.Envs, ", ") + "."
		}
		m.printf("%s\n", esc(help))
	}
}

// esc escapes text for roff: backslashes, hyphens (which would otherwise
// be typeset as hyphens, not the minus a command line needs), and a
// leading dot or quote, which would make the line a request.
func esc(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// quoteArg quotes a macro argument.
func quoteArg(s string) string {
	return `"` + strings.ReplaceAll(esc(s), `"`, `\(dq`) + `"`
}
