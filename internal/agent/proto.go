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

// The protocol: one JSON request line, then one or two JSON answer lines
// ("pending" while the agent exchanges, then the answer), then close.

// Bounds of the protocol, stated in docs/agent.md.
const (
	// MaxRequest is the largest request line the agent reads; the client
	// exchanges itself rather than send a bigger one.
	MaxRequest = 256 << 10
	// maxAnswer bounds an answer line the client reads.
	maxAnswer = 64 << 10
	// FirstAnswer is how long the client waits for the first answer line
	// before it exchanges itself.
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

// Request carries every input that decides the credentials: the
// arguments as written, the environment (but ignoredEnv, sorted), the
// working directory when a path among them is relative, and the host name.
// The agent runs the pipeline with exactly these and keys its entry by all
// of them, so no variable can make its answer differ from a direct run.
type Request struct {
	V    int      `json:"v"`
	Op   string   `json:"op"`
	Args []string `json:"args,omitempty"`
	Env  []string `json:"env,omitempty"`
	Dir  string   `json:"dir,omitempty"`
	Host string   `json:"host,omitempty"`
	// ADC hashes the ADC file's contents (adcFingerprint).
	ADC string `json:"adc,omitempty"`
}

// key is the entry's key: a hash of every input's JSON, unambiguous for
// requests decoded from JSON (valid UTF-8).
func (r *Request) key() string {
	b, _ := json.Marshal([]any{r.Args, r.Env, r.Dir, r.Host, r.ADC})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// check refuses a request that is not well formed; Config.Check judges the
// arguments.
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
