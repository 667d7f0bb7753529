package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// The protocol is one JSON request line from the client, then one or two
// JSON answer lines from the agent ("pending" while it exchanges, then the
// answer), then the agent closes the connection.

// Bounds of the protocol, stated in docs/agent.md.
const (
	// MaxRequest is the largest request line the agent reads: the
	// arguments and the environment. A bigger one is refused (the client
	// does not send it and exchanges itself).
	MaxRequest = 256 << 10
	// maxAnswer bounds an answer line the client reads.
	maxAnswer = 64 << 10
	// FirstAnswer is how long the client waits for the agent's first line
	// after connecting: the answer itself, or "pending". Past it the client
	// exchanges itself.
	FirstAnswer = time.Second
)

// Operations.
const (
	opGet  = "get"  // credentials for these inputs
	opPeek = "peek" // does an entry for these inputs exist (doctor)
	opPing = "ping" // is an agent there (agent --check)
)

// Answer statuses.
const (
	stOK      = "ok"
	stPending = "pending"
	stFailed  = "failed"
	stRefused = "refused"
	stHeld    = "held"
	stNone    = "none"
)

// Request carries every input that decides the credentials: the credential
// process's arguments as the caller wrote them, the caller's environment
// (all of it but the variables in ignoredEnv, sorted), its working
// directory when a path among the inputs is relative, and its host name.
// The agent runs the pipeline with exactly these and keys its entry by all
// of them, so a variable nobody thought of cannot make an agent-served
// answer differ from a direct run: it is part of the key.
type Request struct {
	V    int      `json:"v"`
	Op   string   `json:"op"`
	Args []string `json:"args,omitempty"`
	Env  []string `json:"env,omitempty"`
	Dir  string   `json:"dir,omitempty"`
	Host string   `json:"host,omitempty"`
	// ADC is a hash of the Application Default Credentials file's
	// contents (see adcFingerprint): the file a path names can change.
	ADC string `json:"adc,omitempty"`
}

// key is the entry's key: a hash of every input. The agent keys requests
// it decoded from JSON, whose strings are valid UTF-8, so their JSON
// encoding is unambiguous: no two different inputs encode alike.
func (r *Request) key() string {
	b, _ := json.Marshal([]any{r.Args, r.Env, r.Dir, r.Host, r.ADC})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// check refuses a request that is not well formed. What the arguments mean
// is checked by the agent's Check function.
func (r *Request) check() error {
	if r.V != 1 {
		return fmt.Errorf("protocol version %d, want 1", r.V)
	}
	switch r.Op {
	case opPing:
		return nil
	case opGet, opPeek:
	default:
		return fmt.Errorf("unknown operation %q", r.Op)
	}
	for _, s := range append(append([]string(nil), r.Args...), r.Dir, r.Host) {
		if strings.ContainsRune(s, 0) {
			return errors.New("a NUL byte in an argument")
		}
	}
	for _, e := range r.Env {
		k, _, ok := strings.Cut(e, "=")
		if !ok || k == "" || strings.ContainsRune(e, 0) {
			return errors.New("an environment entry that is not NAME=VALUE")
		}
	}
	if r.Dir != "" && !filepath.IsAbs(r.Dir) {
		return errors.New("a working directory that is not absolute")
	}
	return nil
}

// answer is one line from the agent.
type answer struct {
	Status string `json:"status"`
	// ok: the credentials.
	AccessKeyID     string    `json:"access_key_id,omitempty"`
	SecretAccessKey string    `json:"secret_access_key,omitempty"`
	SessionToken    string    `json:"session_token,omitempty"`
	Expiration      time.Time `json:"expiration,omitzero"`
	AccountID       string    `json:"account_id,omitempty"`
	// ok: whether this request made the exchange (for --verbose).
	Fresh bool `json:"fresh,omitempty"`
	// failed: the direct run's exit status and stderr.
	Exit   int    `json:"exit,omitempty"`
	Stderr string `json:"stderr,omitempty"`
	// refused: why.
	Reason string `json:"reason,omitempty"`
	// ping: the agent's process ID.
	PID int `json:"pid,omitempty"`
}

func credsAnswer(c awscred.Credentials) answer {
	return answer{Status: stOK, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey.Reveal(),
		SessionToken: c.SessionToken.Reveal(), Expiration: c.Expiration, AccountID: c.AccountID}
}

func (a *answer) creds() awscred.Credentials {
	return awscred.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: secret.New(a.SecretAccessKey),
		SessionToken: secret.New(a.SessionToken), Expiration: a.Expiration, AccountID: a.AccountID}
}
