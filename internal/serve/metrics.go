package serve

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// MetricsPath answers without authorization, in Prometheus's text
// exposition format: how fresh the credentials are and how refreshes and
// requests went, so that a server failing to refresh is alerted on long
// before its credentials expire. It tells no secret, no role and no
// session name. The format is written here rather than by a client
// library, whose package init would run in every credential process.
const MetricsPath = "/metrics"

// metricsType is the text exposition format's content type.
const metricsType = "text/plain; version=0.0.4; charset=utf-8"

// results are the labels of gcp_aws_cred_refreshes_total, in the order
// outcomes counts them.
var results = [...]string{"success", "throttled", "denied", "other"}

// outcomes counts exchanges by result.
type outcomes [len(results)]atomic.Int64

// note counts one exchange's outcome: err is nil for credentials stored.
func (o *outcomes) note(err error) {
	i := 3
	switch {
	case err == nil:
		i = 0
	case errors.Is(err, sts.ErrThrottled):
		i = 1
	case errors.Is(err, sts.ErrAccessDenied):
		i = 2
	}
	o[i].Add(1)
}

// metrics answers GET and HEAD on MetricsPath.
func (s *Server) metrics(r *http.Request) response {
	if resp := onlyGetOrHead(r); resp != nil {
		return *resp
	}
	return response{status: http.StatusOK, body: s.exposition(time.Now())}.with("Content-Type", metricsType)
}

// exposition writes the metrics in the text format: # HELP and # TYPE,
// then one sample a line. Times are Unix seconds, durations seconds.
func (s *Server) exposition(now time.Time) []byte {
	var b strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name, labels string, v float64) {
		b.WriteString(name)
		if labels != "" {
			b.WriteString("{" + labels + "}")
		}
		b.WriteString(" " + strconv.FormatFloat(v, 'f', -1, 64) + "\n")
	}
	gauge := func(name, help string, v float64) {
		family(name, "gauge", help)
		sample(name, "", v)
	}
	unix := func(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
	h := s.ref.last() // never nil: a Server holds credentials from its start

	held := 0.0
	if h.plan.servable(now) {
		held = 1
	}
	gauge("gcp_aws_cred_credentials_held", "1 while credentials may be served (more than the floor left), else 0.", held)
	gauge("gcp_aws_cred_credentials_expiry_seconds", "Seconds until the credentials held expire, by STS's clock and this machine's monotonic one; 0 when none are held or they have expired.",
		math.Max(0, math.Round(h.plan.left(now).Seconds()*1000)/1000))
	gauge("gcp_aws_cred_credentials_expiration_timestamp_seconds", "The Expiration of the credentials held, in Unix seconds; 0 when none are held.", unix(h.creds.Expiration))
	gauge("gcp_aws_cred_last_refresh_success_timestamp_seconds", "When credentials were last obtained (the first exchange included), in Unix seconds.", unix(h.plan.got))
	family("gcp_aws_cred_refreshes_total", "counter", "Exchanges with STS (the first included), by result: success, throttled, denied (AccessDenied, IDPRejectedClaim), other.")
	for i, res := range results {
		sample("gcp_aws_cred_refreshes_total", `result="`+res+`"`, float64(s.ref.outcomes[i].Load()))
	}
	family("gcp_aws_cred_requests_total", "counter", "Requests answered by serve, by HTTP status (net/http's own 400, 431 and 505 are not counted).")
	for status := range s.answered {
		if n := s.answered[status].Load(); n > 0 {
			sample("gcp_aws_cred_requests_total", `status="`+strconv.Itoa(status)+`"`, float64(n))
		}
	}
	family("gcp_aws_cred_strangers_refused_total", "counter", "Requests refused for want of the right token (reason unauthorized), and connections closed because more than 128 without it were open (reason closed).")
	sample("gcp_aws_cred_strangers_refused_total", `reason="unauthorized"`, float64(s.refused.total.Load()))
	sample("gcp_aws_cred_strangers_refused_total", `reason="closed"`, float64(s.strangers.closed.total.Load()))
	return []byte(b.String())
}
