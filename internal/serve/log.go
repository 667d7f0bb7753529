package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
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

// NewLogger returns serve's logger writing to w in format (LogPlain or
// LogJSON); nil w discards everything. quiet keeps warnings and errors
// only. Plain lines have the CLI's own form ("gcp-aws-cred: warning: …",
// then "gcp-aws-cred: hint: …" lines) and no time stamp, which journald
// and container runtimes add; JSON lines are slog's JSON handler's with
// lower-case level names.
//
// Every value of every record, whatever handler writes it, passes through
// cleanHandler first: secrets redacted, control characters escaped, the
// line prefix defused. No call site has to remember to clean.
func NewLogger(w io.Writer, format string, quiet bool) *slog.Logger {
	if w == nil {
		return slog.New(slog.DiscardHandler)
	}
	level := slog.LevelDebug
	if quiet {
		level = slog.LevelWarn
	}
	var h slog.Handler
	if format == LogJSON {
		h = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: jsonAttr})
	} else {
		h = &plainHandler{w: w, level: level, mu: new(sync.Mutex)}
	}
	return slog.New(cleanHandler{h})
}

// jsonAttr writes levels as the plain form names them and times in UTC,
// and leaves out fields with nothing to say (no request ID, no code).
func jsonAttr(groups []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindString && a.Value.String() == "" {
		return slog.Attr{}
	}
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		return slog.String(slog.LevelKey, levelName(a.Value.Any().(slog.Level)))
	case slog.TimeKey:
		return slog.String(slog.TimeKey, a.Value.Time().UTC().Format(time.RFC3339Nano))
	}
	return a
}

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

// cleanHandler cleans a record's message and every attribute value before
// the handler it wraps sees them.
type cleanHandler struct{ next slog.Handler }

func (h cleanHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h cleanHandler) Handle(ctx context.Context, r slog.Record) error {
	c := slog.NewRecord(r.Time, r.Level, clean.Line(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		c.AddAttrs(cleanAttr(a))
		return true
	})
	return h.next.Handle(ctx, c)
}

func (h cleanHandler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = cleanAttr(a)
	}
	return cleanHandler{h.next.WithAttrs(clean)}
}

func (h cleanHandler) WithGroup(name string) slog.Handler {
	return cleanHandler{h.next.WithGroup(clean.Line(name))}
}

// cleanAttr cleans one value: strings, string lists (hints keep their
// line breaks, indented), errors and anything else printed as text. Times,
// durations and numbers cannot carry a secret and stay typed.
func cleanAttr(a slog.Attr) slog.Attr {
	a.Key = clean.Line(a.Key)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(clean.Line(v.String()))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, x := range g {
			clean[i] = cleanAttr(x)
		}
		a.Value = slog.GroupValue(toAttrs(clean)...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case []string:
			out := make([]string, len(x))
			for i, s := range x {
				out[i] = clean.Block(strings.TrimRight(s, "\n"))
			}
			a.Value = slog.AnyValue(out)
		case error:
			a.Value = slog.StringValue(clean.Line(x.Error()))
		default:
			a.Value = slog.StringValue(clean.Line(v.String()))
		}
	default:
		a.Value = v
	}
	return a
}

func toAttrs(xs []any) []slog.Attr {
	out := make([]slog.Attr, len(xs))
	for i, x := range xs {
		out[i] = x.(slog.Attr)
	}
	return out
}

// plainHandler writes a record as the CLI writes its errors: the message
// after "gcp-aws-cred: " (and "warning: " or "error: " for those levels),
// then one "gcp-aws-cred: hint: " line per hint. The structured fields are
// for machines and appear in the JSON form only.
type plainHandler struct {
	w     io.Writer
	level slog.Level
	mu    *sync.Mutex
}

func (h *plainHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *plainHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(clean.Name + ": ")
	if r.Level != slog.LevelInfo {
		b.WriteString(levelName(r.Level) + ": ")
	}
	b.WriteString(r.Message + "\n")
	r.Attrs(func(a slog.Attr) bool {
		if hs, ok := a.Value.Any().([]string); ok && a.Key == keyHints {
			for _, s := range hs {
				b.WriteString(explain.Indent(clean.Name+": hint: ", "    ", s))
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

// errorLog is the net/http server's ErrorLog: its lines (a panic in a
// handler, an accept error) go through the same handler as serve's own, as
// warnings, at most one a second. Local clients choose how often they
// come (an accept error for each connection over the descriptor limit):
// the ones in between are counted, and the count given on the next line.
func errorLog(l *slog.Logger) *log.Logger {
	return log.New(&limitedLog{l: l}, "", 0)
}

// errorLogInterval is the least time between two lines of errorLog.
const errorLogInterval = time.Second

type limitedLog struct {
	l       *slog.Logger
	mu      sync.Mutex
	last    time.Time
	dropped int
}

func (w *limitedLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	now := time.Now()
	if now.Sub(w.last) < errorLogInterval {
		w.dropped++
		w.mu.Unlock()
		return len(p), nil
	}
	n := w.dropped
	w.last, w.dropped = now, 0
	w.mu.Unlock()
	msg := strings.TrimSuffix(string(p), "\n")
	if n > 0 {
		msg += fmt.Sprintf(" (%d more net/http %s left out since the last one: at most one a second is logged)", n, plural(n, "line"))
	}
	w.l.Warn(msg)
	return len(p), nil
}

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
