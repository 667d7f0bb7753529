package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/agent"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/serve"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
)

// AgentCmd is the per-user credential agent.
type AgentCmd struct {
	Socket      string `help:"Unix socket to listen at; default $XDG_RUNTIME_DIR/gcp-aws-cred/agent.sock, else gcp-aws-cred-UID/agent.sock in the temporary directory. The credential process reads the same variable." env:"GCP_AWS_CRED_AGENT_SOCKET" placeholder:"PATH"`
	LogFormat   string `name:"log-format" help:"Log format on stderr: plain or json." enum:"plain,json" default:"plain"`
	Verbose     bool   `help:"Log every exchange, refresh and dropped entry; without it only refusals and failures are logged."`
	CheckHealth bool   `name:"check" help:"Instead of serving, ask whether an agent of yours answers at the socket: exit 0 if so, 1 if not."`
}

// Help is the worked example under `agent --help`.
func (*AgentCmd) Help() string {
	return `With an agent running, every aws command with the same credential_process
line makes no STS call until a refresh. The line does not change: when no
agent answers, the credential process exchanges itself. Entries are keyed by
every input (arguments and environment), refreshed ahead while in use, and
dropped after an hour unused. Only your own user may ask (the kernel's peer
credentials). SIGINT or SIGTERM stops it and removes its socket. Not on
Windows. More: docs/agent.md (https://github.com/gcp-aws-cred/gcp-aws-cred/blob/main/docs/agent.md).

  gcp-aws-cred agent
  gcp-aws-cred agent --socket /run/user/1000/gcp-aws-cred/agent.sock --log-format json
  gcp-aws-cred agent --check
  systemctl --user enable --now gcp-aws-cred-agent.socket`
}

// Run serves until SIGINT or SIGTERM, or with --check asks.
func (c *AgentCmd) Run(ctx context.Context) error {
	socket := agent.Socket(c.Socket, os.Getenv)
	if c.CheckHealth {
		return agent.Check(ctx, socket)
	}
	return agent.Run(agent.RunConfig{
		Socket: socket,
		Check:  checkProcessArgs,
		Logger: serve.NewLogger(os.Stderr, c.LogFormat, !c.Verbose),
	})
}

// checkProcessArgs refuses arguments that are not a plain run of the
// credential process: the agent runs its own binary with them, so a
// request must not be able to name another command, ask for help or the
// version, or pass anything the process's own flags do not take.
func checkProcessArgs(args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return errors.New("a command word")
	}
	if slices.ContainsFunc(args, func(a string) bool {
		return a == "--" || a == "-h" || strings.HasPrefix(a, "--help") || strings.HasPrefix(a, "--version") || strings.HasPrefix(a, "--no-agent")
	}) {
		return errors.New("--help, --version, --no-agent or --")
	}
	parser := newParser(&processCLI{}, Name, io.Discard, io.Discard)
	// Help and the version may hide in a cluster of short flags ("-ho env"),
	// which the word checks above do not see; kong would print them and
	// call os.Exit, ending the agent. Any exit kong asks for refuses.
	exited := false
	parser.Exit = func(int) { exited = true }
	_, err := parser.Parse(append([]string{"get"}, args...))
	if err == nil && exited {
		err = errors.New("a request for help or the version")
	}
	return err
}

// fromAgent asks the agent for the credentials of this run. served is false
// when no agent answered usably (the run then exchanges itself, and says
// why only under --verbose); an error is the agent's exchange failing as a
// direct run would, with the same message, hints and exit status.
func (c *ProcessCmd) fromAgent(ctx context.Context, kctx *kong.Context) (creds awscred.Credentials, served bool, err error) {
	if c.NoAgent || !agent.Supported {
		return creds, false, nil
	}
	var trace *transport.Tracer
	if c.Verbose {
		trace = transport.NewTracer(os.Stderr)
	}
	// Connect first: with no agent, that one failed connect is all this
	// costs.
	socket := agent.Socket("", os.Getenv)
	conn, err := agent.Dial(ctx, socket)
	if err != nil {
		trace.Printf("agent: %v; exchanging directly", err)
		return creds, false, nil
	}
	defer conn.Close()
	// Mistakes in the options are reported here, as a direct run would,
	// without making the agent run the pipeline to find them.
	if err := c.Options.Check(); err != nil {
		return creds, false, err
	}
	req, err := agent.NewRequest(kctx.Args, os.Environ(), []string{c.CABundle})
	if err != nil {
		trace.Printf("agent: not asked: %v; exchanging directly", err)
		return creds, false, nil
	}
	ans, err := conn.Ask(ctx, req)
	if err != nil {
		trace.Printf("agent: %v; exchanging directly", err)
		return creds, false, nil
	}
	if ans.Err != nil {
		trace.Printf("agent: the agent at %s exchanged with these inputs and failed", socket)
		if c.Verbose {
			_, _ = os.Stderr.WriteString(ans.Trace)
		}
		return creds, true, ans.Err
	}
	how := "from memory"
	if ans.Fresh {
		how = "after an exchange with these inputs"
	}
	trace.Printf("agent: served by the agent at %s %s, key %s until %s", socket, how, ans.Creds.AccessKeyID, ans.Creds.Expiration.UTC().Format("2006-01-02T15:04:05Z"))
	return ans.Creds, true, nil
}
