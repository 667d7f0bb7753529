// Package cli is gcp-aws-cred's command line: the model of every command
// and flag, the help, parse errors explained from the model, and shell
// completion answered from it. It is not part of main because the man
// page's generator reads the model too, so the page never drifts from
// --help.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/ops"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/serve"
	"github.com/gcp-aws-cred/gcp-aws-cred/output"
)

// Name is the command's name, as users type it and as messages begin.
const Name = clean.Name

// summary is the top of the help: with no command word, gcp-aws-cred is
// the credential process.
const summary = "Get temporary AWS credentials for this Google Cloud workload, with no AWS key."

// CLI is the command line. Each command embeds the flags it uses and no
// others: cred.Options for those that exchange, cred.TokenOptions for
// those that only fetch a token.
type CLI struct {
	processCLI `embed:""`

	TrustPolicy TrustPolicyCmd `cmd:"" name:"trust-policy" help:"Print the IAM trust policy that admits exactly this workload's tokens."`
	Token       TokenCmd       `cmd:"" help:"Show this workload's ID token claims and the IAM condition key each feeds (never the token itself)."`
	Doctor      DoctorCmd      `cmd:"" set:"role_note= (optional: without it, doctor checks every step but the exchange)" help:"Run the chain step by step and explain the step that fails."`
	Exec        ExecCmd        `cmd:"" help:"Get credentials once and run COMMAND with them in its environment."`
	Serve       ServeCmd       `cmd:"" help:"Serve credentials from memory to local processes, refreshed before they expire (the AWS container credentials protocol)."`
	Console     ConsoleCmd     `cmd:"" help:"Open the AWS console signed in as the role (a sign-in link from the federation endpoint)."`
	Agent       AgentCmd       `cmd:"" help:"Hold credentials in memory for your user and answer the credential process over a Unix socket."`
	Completion  CompletionCmd  `cmd:"" help:"Print the shell completion script for bash, zsh or fish."`
	Complete    CompleteCmd    `cmd:"" name:"__complete" hidden:"" help:"Complete a command line, for the completion scripts."`
}

// processCLI is the credential process alone, with no command word:
// Process is the default command, and "withargs" lets its flags come
// without its name. A plain run, which AWS tools make on every command and
// refresh, is parsed with this model, a third of the size of CLI's (building
// kong's model of every command cost about 1.5 ms of each run); on a parse
// error CLI parses again, so the messages are the whole command line's.
type processCLI struct {
	Version kong.VersionFlag `help:"Print the version and exit."`
	Process ProcessCmd       `cmd:"" name:"get" default:"withargs" hidden:"" help:"${summary}"`
}

// formats are the --output formats, named as the AWS CLI names them.
var formats = []output.Format{output.Process, output.Env, output.EnvNoExport, output.Fish, output.PowerShell, output.WindowsCmd}

// ProcessCmd is the credential process.
type ProcessCmd struct {
	cred.Options `embed:""`

	Output string `short:"o" help:"Output format: process (the credential_process JSON document), env, env-no-export, fish, powershell, windows-cmd." default:"process" placeholder:"FORMAT"`

	NoAgent bool `name:"no-agent" help:"Do not ask the credential agent (gcp-aws-cred agent); exchange directly." env:"GCP_AWS_CRED_NO_AGENT"`
}

// Help is the top of `gcp-aws-cred --help`.
func (*ProcessCmd) Help() string {
	return `It asks the metadata server for a Google-signed ID token of the attached service
account, exchanges it at AWS STS (AssumeRoleWithWebIdentity), and prints the
credential_process JSON document. Nothing is written to disk.

Example ~/.aws/config (the AWS CLI and SDKs pass no profile setting to a
credential process, so the STS region goes on its line):

    [profile gcp]
    credential_process = gcp-aws-cred --role arn:aws:iam::123456789012:role/aws-allow-gcp-access --region ap-northeast-1
    region = ap-northeast-1

then: aws --profile gcp sts get-caller-identity`
}

// Run fetches credentials and writes them to stdout in one write.
func (c *ProcessCmd) Run(ctx context.Context, stdout io.Writer, kctx *kong.Context) error {
	if !slices.Contains(formats, output.Format(c.Output)) {
		e := explain.Errorf(nil, "--output %q is not an output format", c.Output)
		if strings.EqualFold(c.Output, "json") {
			return e.Hint("the JSON form is --output process, the default: the document credential_process reads")
		}
		return e.Hint("the formats: process (the credential_process JSON document, the default), env, env-no-export, fish, powershell, windows-cmd")
	}
	creds, served, err := c.fromAgent(ctx, kctx)
	if err != nil {
		return err
	}
	if !served {
		flow, err := cred.New(&c.Options)
		if err != nil {
			return err
		}
		if creds, err = flow.Credentials(ctx); err != nil {
			return err
		}
	}
	b, err := output.Encode(output.Format(c.Output), creds)
	if err != nil {
		return explain.Errorf(err, "cannot print the credentials as %s: %v", c.Output, err).
			Hint("--output process (the default) carries any printable value; so do env and powershell")
	}
	if err := output.Write(stdout, b); err != nil {
		return explain.Errorf(err, "cannot write the credentials to stdout: %v", err).
			Hint("the document is written to standard output, for the AWS tool that runs gcp-aws-cred; run it with stdout open")
	}
	return nil
}

// TrustPolicyCmd prints the trust policy for this workload.
type TrustPolicyCmd struct {
	cred.TokenOptions `embed:""`
}

// Run prints the policy to stdout.
func (c *TrustPolicyCmd) Run(ctx context.Context, stdout io.Writer) error {
	return ops.TrustPolicy(ctx, &c.TokenOptions, stdout)
}

// Help is the worked example under `trust-policy --help`.
func (*TrustPolicyCmd) Help() string {
	return `Asks the metadata server for a token and prints the IAM trust policy that admits
exactly this workload: accounts.google.com:aud = the token's azp (the service
account's unique ID), :oaud = its aud (--audience), :sub = its sub.

  gcp-aws-cred trust-policy > trust.json
  aws iam create-role --role-name aws-allow-gcp-access --assume-role-policy-document file://trust.json
  aws iam update-assume-role-policy --role-name aws-allow-gcp-access --policy-document file://trust.json`
}

// TokenCmd describes this workload's token.
type TokenCmd struct {
	cred.TokenOptions `embed:""`

	JSON bool `name:"json" help:"Print JSON instead of text."`
}

// Run prints the description to stdout.
func (c *TokenCmd) Run(ctx context.Context, stdout io.Writer) error {
	return ops.Token(ctx, &c.TokenOptions, c.JSON, stdout)
}

// Help is the worked example under `token --help`.
func (*TokenCmd) Help() string {
	return `Prints the header and claims of the token the metadata server gives (never the
token or its signature), and the IAM condition key each claim feeds.

  gcp-aws-cred token
  gcp-aws-cred token --service-account etl@my-project.iam.gserviceaccount.com --json`
}

// DoctorCmd checks the chain.
type DoctorCmd struct {
	cred.Options `embed:""`

	JSON bool `name:"json" help:"Print the report as JSON (docs/troubleshooting.md documents its keys)."`
}

// Run prints the report to stdout and fails if the chain does.
func (c *DoctorCmd) Run(ctx context.Context, stdout io.Writer, given *explain.Given, kctx *kong.Context) error {
	r := ops.Doctor(ctx, &c.Options, given)
	// The agent's entry is for the credential process with these flags:
	// doctor's own words are taken out.
	r.AddAgent(ctx, slices.DeleteFunc(slices.Clone(kctx.Args), func(a string) bool { return a == "doctor" || a == "--json" }))
	write := r.WriteText
	if c.JSON {
		write = r.WriteJSON
	}
	if err := write(stdout); err != nil {
		return err
	}
	return r.Err()
}

// Help is the worked example under `doctor --help`.
func (*DoctorCmd) Help() string {
	return `Runs the chain one step at a time (options, metadata server, ID token, STS
endpoint, exchange), says what it found at each, and explains the first step
that fails with the values involved. Exits 0 only if the chain works. Without
--role it runs every step that needs none, then says the role is missing.

  gcp-aws-cred doctor --role arn:aws:iam::123456789012:role/aws-allow-gcp-access
  gcp-aws-cred doctor --role arn:aws:iam::123456789012:role/aws-allow-gcp-access --duration 12h --json`
}

// ExecCmd runs a command with credentials.
type ExecCmd struct {
	cred.Options `embed:""`

	Serve   bool     `help:"Serve credentials from memory on a loopback port instead of setting keys, so COMMAND can outlive them; gcp-aws-cred stays its parent."`
	IMDS    bool     `name:"imds" help:"With --serve: also answer the EC2 instance metadata protocol (IMDSv2) and set AWS_EC2_METADATA_SERVICE_ENDPOINT for COMMAND, for programs that read no other. It has no token: any local process that reaches the port gets the credentials."`
	Command []string `arg:"" optional:"" passthrough:"partial" help:"Command and arguments; put -- before it." placeholder:"COMMAND"`
}

// Help is the worked example under `exec --help`.
func (*ExecCmd) Help() string {
	return `Gets credentials once and runs COMMAND with AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_CREDENTIAL_EXPIRATION set,
AWS_REGION and AWS_DEFAULT_REGION too with --region (replacing any set),
and AWS_PROFILE/AWS_DEFAULT_PROFILE removed, so a script of many aws commands
makes one STS call. gcp-aws-cred replaces itself with COMMAND: the exit status and
signals are COMMAND's own. (On Windows, which cannot replace a process, it
waits for COMMAND and exits with its status.)

With --serve, COMMAND may outlive the credentials: gcp-aws-cred serves them
from memory on 127.0.0.1 with a fresh random token, refreshes them before they
expire, and sets AWS_CONTAINER_CREDENTIALS_FULL_URI and
AWS_CONTAINER_AUTHORIZATION_TOKEN instead of keys (removing every variable an
SDK would prefer). It stays COMMAND's parent, forwards its signals, and exits
with its status. --timeout then bounds each exchange.

  gcp-aws-cred exec --role arn:aws:iam::123456789012:role/aws-allow-gcp-access -- ./nightly-sync.sh
  gcp-aws-cred exec --role arn:aws:iam::123456789012:role/aws-allow-gcp-access -- aws s3 sync ./out s3://bucket/out
  gcp-aws-cred exec --serve --role arn:aws:iam::123456789012:role/aws-allow-gcp-access -- terraform apply`
}

// Run replaces this process with the command where the platform allows;
// with --serve it runs the command under a credentials server.
func (c *ExecCmd) Run(ctx context.Context, given *explain.Given) error {
	argv := c.Command
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:]
	}
	if c.IMDS && !c.Serve {
		return explain.Errorf(nil, "--imds needs --serve").
			Hint("without --serve, exec sets keys in COMMAND's environment, which every client reads: gcp-aws-cred exec --serve --imds … -- COMMAND")
	}
	if !c.Serve {
		return ops.Exec(ctx, &c.Options, argv)
	}
	flow, err := cred.New(&c.Options)
	if err != nil {
		return err
	}
	// --timeout bounds each exchange, not the life of the command.
	return serve.Exec(context.WithoutCancel(ctx), serve.ExecConfig{
		Config: serve.Config{Fetch: explained(flow, given), Role: c.Role, Timeout: c.Timeout, Logger: serve.NewLogger(os.Stderr, serve.LogPlain, true), IMDS: c.IMDS},
		Region: c.Region,
		Argv:   argv,
	})
}

// ServeCmd serves credentials from memory.
type ServeCmd struct {
	cred.Options `embed:""`

	Listen        string `help:"Loopback address to listen on: 127.0.0.1:PORT, [::1]:PORT or localhost:PORT; port 0 picks a free one." default:"127.0.0.1:0" placeholder:"ADDR"`
	AuthTokenFile string `name:"auth-token-file" help:"File holding the token clients must send (read, never written); default $AWS_CONTAINER_AUTHORIZATION_TOKEN, else a random one, printed." placeholder:"FILE"`
	LogFormat     string `name:"log-format" help:"Log format on stderr: plain or json." enum:"plain,json" default:"plain"`
	Output        string `short:"o" help:"How the variables for clients are printed: env, env-no-export, fish, powershell, windows-cmd." default:"env" placeholder:"FORMAT"`
	CheckHealth   bool   `name:"check" help:"Instead of serving, ask the server at --listen whether it holds credentials: exit 0 if so, 1 if not. For exec probes."`
	IMDS          bool   `name:"imds" help:"Also answer the EC2 instance metadata protocol (IMDSv2) on --listen and print AWS_EC2_METADATA_SERVICE_ENDPOINT, for clients that read no other. It has no token: any local process that reaches the port gets the credentials."`
}

// Help is the worked example under `serve --help`.
func (*ServeCmd) Help() string {
	return `Binds --listen on loopback (or takes the socket systemd passes), makes the first
exchange, then answers and prints the variables a client needs: AWS_CONTAINER_CREDENTIALS_FULL_URI, and AWS_CONTAINER_AUTHORIZATION_TOKEN
when the token was generated. Every AWS SDK and the CLI read them. Credentials
stay in memory and are refreshed at a random point well before they have 15
minutes left; a failing refresh keeps the last good ones while they last.
--timeout bounds each exchange. Logs go to stderr. SIGINT, SIGTERM or SIGHUP
stops it within 2 seconds (SIGHUP not when started with it ignored, as under
nohup). GET /healthz and GET /metrics (Prometheus's text format) need no
token; kubelet cannot reach loopback, so probe with serve --check.

  gcp-aws-cred serve --role arn:aws:iam::123456789012:role/aws-allow-gcp-access --region ap-northeast-1
  AWS_CONTAINER_AUTHORIZATION_TOKEN=$TOKEN gcp-aws-cred serve --role arn:aws:iam::123456789012:role/aws-allow-gcp-access --listen 127.0.0.1:9911 --log-format json
  gcp-aws-cred serve --check --listen 127.0.0.1:9911

For one long command, or an interactive shell, exec --serve is simpler:

  gcp-aws-cred exec --serve --role arn:aws:iam::123456789012:role/aws-allow-gcp-access -- bash`
}

// Run serves until SIGINT, SIGTERM or SIGHUP.
func (c *ServeCmd) Run(ctx context.Context, stdout io.Writer, given *explain.Given) error {
	if c.CheckHealth {
		return serve.Check(ctx, c.Listen, c.Timeout)
	}
	log := serve.NewLogger(os.Stderr, c.LogFormat, false)
	c.TraceTo = serve.TraceWriter(log)
	flow, err := cred.New(&c.Options)
	if err != nil {
		return err
	}
	// --timeout bounds each exchange, not the life of the server.
	return serve.Run(context.WithoutCancel(ctx), serve.RunConfig{
		Config: serve.Config{
			Fetch: explained(flow, given), Role: c.Role, Timeout: c.Timeout,
			Listen: c.Listen, Logger: log, IMDS: c.IMDS,
		},
		TokenFile: c.AuthTokenFile,
		Region:    c.Region,
		Output:    output.Format(c.Output),
		Stdout:    stdout,
	})
}

// plainRun reports whether args can only mean the credential process: no
// command word first, no request for help.
func plainRun(args []string) bool {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return false
	}
	return !slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "--help" })
}

// Run runs one command line and returns the exit status. version is what
// --version prints; it is called only then, since reading the build info
// would cost every credential fetch start-up time.
func Run(args []string, stdout, stderr io.Writer, version func() string) int {
	// --version alone, as scripts and the start-up budget ask it, needs no
	// model: building one was a sixth of such a run.
	if len(args) == 1 && args[0] == "--version" {
		fmt.Fprintln(stdout, version()) // as kong's --version: exit 0 whatever the write
		return 0
	}
	args = helpArgs(args)
	printed := Name // what --version prints
	if slices.Contains(args, "--version") {
		printed = version()
	}
	var kctx *kong.Context
	var r *reading
	var err error
	if plainRun(args) {
		kctx, r, err = parse(newParser(&processCLI{}, printed, stdout, stderr), args)
	}
	if kctx == nil { // a command word, help, or a mistake: the whole command line
		kctx, r, err = parse(newParser(&CLI{}, printed, stdout, stderr), args)
	}
	if err != nil {
		explain.Print(stderr, Name, err)
		return cred.ExitUsage
	}
	// The one deadline of a run, retries included. No signal handler: on
	// SIGINT or SIGTERM the default, dying at once, is right. Nothing is on
	// disk to clean up, and stdout is written in one write at the end, so a
	// killed run leaves it empty.
	given := &explain.Given{Timeout: 30 * time.Second}
	target := kctx.Selected().Target.Addr().Interface()
	if o, ok := target.(interface{ Tokens() *cred.TokenOptions }); ok {
		given.Timeout = o.Tokens().Timeout
		given.As = typedDurations(kctx, r)
		given.TokenArgs = o.Tokens().TokenArgs()
	}
	if o, ok := target.(interface{ Endpoint() (string, string) }); ok {
		_, given.EndpointFrom = o.Endpoint()
	}
	ctx, cancel := context.WithTimeout(context.Background(), given.Timeout)
	defer cancel()
	kctx.BindTo(ctx, (*context.Context)(nil))
	kctx.BindTo(stdout, (*io.Writer)(nil))
	kctx.Bind(given)
	if err := kctx.Run(); err != nil {
		explain.Print(stderr, Name, given.Explain(err))
		return cred.ExitStatus(err)
	}
	return 0
}

// explained is flow's fetch for serve, its errors in the command line's
// words; serve adds what its deadline bounds.
func explained(flow *cred.Flow, given *explain.Given) func(context.Context) (awscred.Credentials, error) {
	given = given.PerExchange()
	return func(ctx context.Context) (awscred.Credentials, error) {
		creds, err := flow.Credentials(ctx)
		return creds, given.Explain(err)
	}
}

// Parse reads args as Run reads a command line with a command word, without
// running anything, for the tests of the command lines the documentation
// shows. kctx is nil for a request for help or the version, which kong
// answers and would exit on.
func Parse(args []string) (*CLI, *kong.Context, error) {
	c := &CLI{}
	parser := NewParser(c, io.Discard, io.Discard)
	exited := false
	parser.Exit = func(int) { exited = true }
	kctx, _, err := parse(parser, helpArgs(args))
	if exited {
		return c, nil, nil
	}
	return c, kctx, err
}

// parse parses args with parser as Run does: empty variables unset, a
// refusal explained from the words (errors.go), and an empty --impersonate
// refused. It returns the reading of the words, for how flags were typed.
func parse(parser *kong.Kong, args []string) (*kong.Context, *reading, error) {
	unsetEmptyEnv(parser.Model)
	kctx, err := parser.Parse(args)
	r := newReading(parser.Model, err)
	refused := r.read(args)
	if err != nil {
		return nil, r, usageError(err, r, refused)
	}
	if e := emptyImpersonate(r); e != nil {
		return nil, r, e
	}
	return kctx, r, nil
}

// NewParser builds the parser of the whole command line into c, as the
// binary builds it: for tests, and for the man page's generator.
func NewParser(c *CLI, stdout, stderr io.Writer) *kong.Kong {
	return newParser(c, Name, stdout, stderr)
}

// newParser builds the parser for a *CLI or a *processCLI, with version
// for --version to print: the one place its options are set, so tests
// parse exactly as the binary does.
func newParser(cli any, version string, stdout, stderr io.Writer) *kong.Kong {
	parser, err := kong.New(cli,
		kong.Name(Name),
		kong.Description(summary),
		// The role is required everywhere but in doctor, which checks every
		// other step without it; DoctorCmd sets its own note.
		kong.Vars{"role_note": " (required)", "version": version, "summary": summary},
		kong.Writers(stdout, stderr),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Help(printHelp),
		kong.ValueFormatter(helpValue),
		kong.TypeMapper(reflect.TypeFor[time.Duration](), kong.MapperFunc(decodeDuration)),
	)
	if err != nil {
		panic(err) // the CLI struct is wrong: a programming error
	}
	return parser
}

// unsetEmptyEnv drops the flags' environment variables that are set but
// empty. AWS tools treat an empty variable as unset, and users clear one
// with VAR= as often as with unset; kong would instead take the empty value,
// so AWS_REGION= would hide AWS_DEFAULT_REGION and AWS_USE_FIPS_ENDPOINT=
// would fail to parse.
func unsetEmptyEnv(app *kong.Application) {
	_ = kong.Visit(app, func(n kong.Visitable, next kong.Next) error {
		if f, ok := n.(*kong.Flag); ok {
			for _, env := range f.Tag.Envs {
				if v, set := os.LookupEnv(env); set && v == "" {
					_ = os.Unsetenv(env)
				}
			}
		}
		return next(nil)
	})
}
