package transport

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
)

// Tracer writes the --verbose trace: a line per request and per decision
// worth knowing in a support ticket (a retry, a fallback), timed from the
// start. Lines go through clean.Line, and requests are shown without query,
// body or headers. A nil *Tracer writes nothing.
type Tracer struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

// NewTracer returns a Tracer writing to w, never stdout (the credentials).
func NewTracer(w io.Writer) *Tracer {
	return &Tracer{w: w, start: time.Now()}
}

// Printf writes one line.
func (t *Tracer) Printf(format string, args ...any) {
	if t == nil {
		return
	}
	line := fmt.Sprintf("%s: debug: [+%s] %s\n", clean.Name, Duration(time.Since(t.start)), clean.Line(fmt.Sprintf(format, args...)))
	t.mu.Lock()
	defer t.mu.Unlock()
	_, _ = io.WriteString(t.w, line)
}
