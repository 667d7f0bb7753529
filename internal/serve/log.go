package serve

import (
	"encoding/json"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fail"
)

// Log formats.
const (
	LogPlain = "plain"
	LogJSON  = "json"
)

// Log levels.
const (
	levelInfo  = "info"
	levelWarn  = "warning"
	levelError = "error"
)

// logger writes serve's log to stderr: plain lines in the form the CLI
// prints errors in ("gcp-aws-cred: error: …", "gcp-aws-cred: hint: …"),
// or one JSON object per line for log collectors. Plain lines carry no
// time stamp: journald and the container runtime add one; JSON lines
// carry their own.
type logger struct {
	w      io.Writer
	json   bool
	quiet  bool // failures only: exec --serve shares the child's stderr
	now    func() time.Time
	mu     sync.Mutex
	prefix string
}

func newLogger(w io.Writer, format string, quiet bool, now func() time.Time) *logger {
	if w == nil {
		return nil // emit does nothing
	}
	return &logger{w: w, json: format == LogJSON, quiet: quiet, now: now, prefix: name}
}

// name prefixes every plain log line, as it does the CLI's errors.
const name = "gcp-aws-cred"

// entry is one log entry. In the JSON form its fields come in this order,
// time, level and msg first, as people read them; event and code are for
// log queries ("every throttled refresh"), the rest is in msg.
type entry struct {
	Time  string   `json:"time"`
	Level string   `json:"level"`
	Msg   string   `json:"msg"`
	Event string   `json:"event,omitempty"`
	Code  string   `json:"code,omitempty"` // STS's error code
	Hints []string `json:"hints,omitempty"`
}

// emit writes one log entry with one Write; on a nil logger it does
// nothing. It is, with errorText, the only way text leaves serve for a
// person or a client to read, and both pass every string through
// fail.Clean: secrets redacted, control characters escaped, the line
// prefix defused.
func (l *logger) emit(e entry) {
	if l == nil || (l.quiet && e.Level == levelInfo) {
		return
	}
	e.Msg, e.Code = fail.Clean(e.Msg), fail.Clean(e.Code)
	hints := e.Hints
	e.Hints = nil
	for _, h := range hints {
		e.Hints = append(e.Hints, fail.CleanBlock(strings.TrimRight(h, "\n")))
	}
	var b []byte
	if l.json {
		e.Time = l.now().UTC().Format(time.RFC3339Nano)
		b, _ = json.Marshal(e)
		b = append(b, '\n')
	} else {
		var s strings.Builder
		s.WriteString(l.prefix + ": ")
		if e.Level != levelInfo {
			s.WriteString(e.Level + ": ")
		}
		s.WriteString(e.Msg + "\n")
		for _, h := range e.Hints {
			s.WriteString(fail.Indent(l.prefix+": hint: ", "    ", h))
		}
		b = []byte(s.String())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(b)
}

// errorText is what a client reads about err in a JSON error's message:
// the message and its hints on one line, cleaned like a log line.
func errorText(err error) string {
	s := fail.Clean(err.Error())
	for _, h := range fail.Hints(err) {
		s += "; hint: " + fail.Clean(h)
	}
	return s
}

// errShutdown answers requests that wait for a refresh cancelled by
// shutdown. It is a constant so that the package needs no initialisation
// at start-up, which every credential-process run would pay for.
const errShutdown = constError("the server is shutting down")

type constError string

func (e constError) Error() string { return string(e) }
