package serve

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
// sanitize.
func (l *logger) emit(e entry) {
	if l == nil || (l.quiet && e.Level == levelInfo) {
		return
	}
	e.Msg = oneLine(sanitize(e.Msg))
	e.Code = oneLine(sanitize(e.Code))
	hints := e.Hints
	e.Hints = nil
	for _, h := range hints {
		e.Hints = append(e.Hints, strings.TrimRight(sanitize(h), "\n"))
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
// the message and its hints on one line. Like emit it passes through
// sanitize.
func errorText(err error) string {
	s := oneLine(sanitize(err.Error()))
	for _, h := range fail.Hints(err) {
		s += "; hint: " + oneLine(sanitize(h))
	}
	return s
}

// sanitize is the single point every string serve prints or sends passes
// through. It escapes control characters other than newline and tab, and
// bytes that are not UTF-8, so that nothing a peer sent can rewrite a
// terminal or forge a log line; it is where redaction belongs too.
func sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\n' && c != '\t' || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 && r != '\n' && r != '\t', r == 0x7f, 0x80 <= r && r < 0xa0, r == '\u2028', r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// oneLine keeps a message on one line: a multi-line message from a server
// would read like several log entries.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// errShutdown answers requests that wait for a refresh cancelled by
// shutdown. It is a constant so that the package needs no initialisation
// at start-up, which every credential-process run would pay for.
const errShutdown = constError("the server is shutting down")

type constError string

func (e constError) Error() string { return string(e) }
