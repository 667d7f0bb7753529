package serve

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// Results a refresh is counted under, the label of
// gcp_aws_cred_refreshes_total.
const (
	resultSuccess   = "success"
	resultThrottled = "throttled"
	resultDenied    = "denied"
	resultOther     = "other"
)

var results = []string{resultSuccess, resultThrottled, resultDenied, resultOther}

// outcomes counts exchanges by result.
type outcomes struct {
	n [4]atomic.Int64 // in the order of results
}

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
	o.n[i].Add(1)
}

// statuses counts the answers written, by HTTP status.
type statuses struct {
	mu sync.Mutex
	n  map[int]int64
}

func (s *statuses) note(status int) {
	s.mu.Lock()
	if s.n == nil {
		s.n = map[int]int64{}
	}
	s.n[status]++
	s.mu.Unlock()
}

func (s *statuses) snapshot() map[int]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]int64, len(s.n))
	for k, v := range s.n {
		out[k] = v
	}
	return out
}

// refreshState is what the metrics read of the refresher, at one moment.
type refreshState struct {
	held       bool
	left       time.Duration // until the held credentials expire
	expiration time.Time
	lastOK     time.Time // when credentials were last stored
	results    [4]int64
}

func (r *Refresher) state(now time.Time) refreshState {
	var st refreshState
	r.mu.Lock()
	if r.cur != nil {
		st.held, st.left, st.expiration = true, r.cur.plan.left(now), r.cur.creds.Expiration
	}
	st.lastOK = r.lastOK
	r.mu.Unlock()
	for i := range st.results {
		st.results[i] = r.outcomes.n[i].Load()
	}
	return st
}

// metrics answers GET and HEAD on MetricsPath.
func (s *Server) metrics(r *http.Request) response {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		resp := errorResponse(http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET and HEAD are served")
		resp.allow = "GET, HEAD"
		return resp
	}
	return response{status: http.StatusOK, ctype: metricsType, body: s.exposition(time.Now())}
}

// exposition writes the metrics in the text format: # HELP and # TYPE,
// then one sample a line. Times are Unix seconds, durations seconds.
func (s *Server) exposition(now time.Time) []byte {
	st := s.ref.state(now)
	var b strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name, labels string, v float64) {
		b.WriteString(name)
		if labels != "" {
			b.WriteString("{" + labels + "}")
		}
		b.WriteByte(' ')
		b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
		b.WriteByte('\n')
	}
	unix := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return float64(t.UnixMilli()) / 1000
	}

	family("gcp_aws_cred_credentials_held", "gauge", "1 while credentials may be served (more than the floor left), else 0.")
	sample("gcp_aws_cred_credentials_held", "", b2f(s.ref.Healthy()))
	family("gcp_aws_cred_credentials_expiry_seconds", "gauge", "Seconds until the credentials held expire, by STS's clock and this machine's monotonic one; 0 when none are held or they have expired.")
	sample("gcp_aws_cred_credentials_expiry_seconds", "", math.Max(0, math.Round(st.left.Seconds()*1000)/1000))
	family("gcp_aws_cred_credentials_expiration_timestamp_seconds", "gauge", "The Expiration of the credentials held, in Unix seconds; 0 when none are held.")
	sample("gcp_aws_cred_credentials_expiration_timestamp_seconds", "", unix(st.expiration))
	family("gcp_aws_cred_last_refresh_success_timestamp_seconds", "gauge", "When credentials were last obtained (the first exchange included), in Unix seconds.")
	sample("gcp_aws_cred_last_refresh_success_timestamp_seconds", "", unix(st.lastOK))
	family("gcp_aws_cred_refreshes_total", "counter", "Exchanges with STS (the first included), by result: success, throttled, denied (AccessDenied, IDPRejectedClaim), other.")
	for i, res := range results {
		sample("gcp_aws_cred_refreshes_total", `result="`+res+`"`, float64(st.results[i]))
	}
	family("gcp_aws_cred_requests_total", "counter", "Requests answered by serve, by HTTP status (net/http's own 400, 431 and 505 are not counted).")
	byStatus := s.answered.snapshot()
	codes := make([]int, 0, len(byStatus))
	for c := range byStatus {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		sample("gcp_aws_cred_requests_total", `status="`+strconv.Itoa(c)+`"`, float64(byStatus[c]))
	}
	family("gcp_aws_cred_strangers_refused_total", "counter", "Requests refused for want of the right token (reason unauthorized), and connections closed because more than 128 without it were open (reason closed).")
	sample("gcp_aws_cred_strangers_refused_total", `reason="unauthorized"`, float64(s.refused.total.Load()))
	sample("gcp_aws_cred_strangers_refused_total", `reason="closed"`, float64(s.strangers.closed.Load()))
	return []byte(b.String())
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
