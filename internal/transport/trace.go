package transport

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
)

// Tracer writes the --verbose trace: one line per request and per decision
// worth knowing in a support ticket (a retry, a fallback), each with the
// time since the run started. Every line goes through clean.Line, so it
// holds no secret and no control character; requests are shown without
// their query strings, bodies or headers. A nil *Tracer writes nothing.
type Tracer struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

// NewTracer returns a Tracer writing to w, which must not be stdout: that is
// the credential channel.
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
