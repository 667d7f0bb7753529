package serve

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
)

// Log formats.
const (
	LogPlain = "plain"
	LogJSON  = "json"
)

// Log attribute keys. event and code are for log queries ("every
// throttled refresh"); the rest say what a person reading the line wants
// next to it.
const (
	keyEvent      = "event"
	keyRole       = "role"
	keyExpiration = "expiration"
	keyNext       = "next_refresh"
	keyRequestID  = "request_id"
	keyCode       = "code"
	keyHints      = "hints"
)

// discard is the logger of a Config without one.
var discard = slog.New(slog.DiscardHandler)

// NewLogger returns serve's logger writing to w in format (LogPlain or
// LogJSON); nil w discards everything. quiet keeps warnings and errors
// only. Plain lines have no time stamp: journald and container runtimes
// add one. Both handlers clean every value they write, the message
// included (secrets redacted, control characters escaped, the line prefix
// defused), so that no call site has to remember to.
func NewLogger(w io.Writer, format string, quiet bool) *slog.Logger {
	if w == nil {
		return discard
	}
	level := slog.LevelDebug
	if quiet {
		level = slog.LevelWarn
	}
	if format == LogJSON {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: jsonAttr}))
	}
	return slog.New(&plainHandler{w: w, level: level})
}

// jsonAttr is the JSON handler's ReplaceAttr, which slog calls for the
// message and for every attribute, in groups too. It writes levels as the
// plain form names them and times in UTC, and cleans the rest: strings,
// string lists (hints keep their line breaks, indented), errors and
// anything else printed as text. Times, durations and numbers cannot carry
// a secret and stay typed. Fields with nothing to say (no request ID, no
// code) are left out.
func jsonAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 {
		switch a.Key {
		case slog.LevelKey:
			return slog.String(slog.LevelKey, levelName(a.Value.Any().(slog.Level)))
		case slog.TimeKey:
			return slog.String(slog.TimeKey, a.Value.Time().UTC().Format(time.RFC3339Nano))
		}
	}
	a.Key = clean.Line(a.Key)
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(clean.Line(a.Value.String()))
	case slog.KindAny:
		switch x := a.Value.Any().(type) {
		case []string:
			hints := make([]string, len(x))
			for i, s := range x {
				hints[i] = cleanHint(s)
			}
			a.Value = slog.AnyValue(hints)
		default: // an error, or anything else printed as text
			a.Value = slog.StringValue(clean.Line(a.Value.String()))
		}
	}
	if a.Value.Kind() == slog.KindString && a.Value.String() == "" {
		return slog.Attr{}
	}
	return a
}

func cleanHint(s string) string { return clean.Block(strings.TrimRight(s, "\n")) }

func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warning"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}

// plainHandler writes a record as the CLI writes its errors: the message
// after "gcp-aws-cred: " (and "warning: " or "error: " for those levels),
// then one "gcp-aws-cred: hint: " line per hint. The structured fields are
// for machines and appear in the JSON form only.
type plainHandler struct {
	w     io.Writer
	level slog.Level
	mu    sync.Mutex
}

func (h *plainHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *plainHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(clean.Name + ": ")
	if r.Level != slog.LevelInfo {
		b.WriteString(levelName(r.Level) + ": ")
	}
	b.WriteString(clean.Line(r.Message) + "\n")
	r.Attrs(func(a slog.Attr) bool {
		if hs, ok := a.Value.Any().([]string); ok && a.Key == keyHints {
			for _, s := range hs {
				b.WriteString(explain.Indent(clean.Name+": hint: ", "    ", cleanHint(s)))
			}
		}
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

// The plain form has no fields to carry, so attributes and groups added
// ahead of time change nothing.
func (h *plainHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *plainHandler) WithGroup(string) slog.Handler      { return h }

// TraceWriter is an io.Writer for the --verbose trace of the exchanges
// serve makes: each line written becomes a debug record of l, so that with
// --log-format json the trace is JSON lines too. The trace's own
// "gcp-aws-cred: debug: " prefix is dropped; the handler writes its own.
func TraceWriter(l *slog.Logger) io.Writer { return traceWriter{l} }

type traceWriter struct{ l *slog.Logger }

func (t traceWriter) Write(p []byte) (int, error) {
	for line := range strings.Lines(string(p)) {
		line = strings.TrimSuffix(strings.TrimPrefix(line, clean.Name+": debug: "), "\n")
		t.l.Debug(line, keyEvent, "trace")
	}
	return len(p), nil
}

// errorText is what a client reads about err in a JSON error's message:
// the message and its hints on one line, cleaned like a log line.
func errorText(err error) string {
	s := clean.Line(err.Error())
	for _, h := range explain.Hints(err) {
		s += "; hint: " + clean.Line(h)
	}
	return s
}

// errShutdown answers requests that wait for a refresh cancelled by
// shutdown.
var errShutdown = errors.New("the server is shutting down")
