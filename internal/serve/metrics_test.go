package serve

import (
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape gets /metrics without a token and parses it with Prometheus's
// own parser, which refuses anything the text format does not allow.
func scrape(t *testing.T, srv *Server) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	a := get(t, "GET", "http://"+srv.Addr()+MetricsPath, nil, "")
	if a.status != 200 || a.header.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("GET /metrics: %d %s %s", a.status, a.header.Get("Content-Type"), a.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(a.body))
	if err != nil {
		t.Fatalf("the Prometheus parser refuses it: %v\n%s", err, a.body)
	}
	return fams, a.body
}

// value is the sample of family name whose label (if any) has value
// want, checking the family's type.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, typ dto.MetricType, label, want string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil || f.GetType() != typ || f.GetHelp() == "" {
		t.Fatalf("%s: %v, want a %s with HELP", name, f, typ)
	}
	for _, m := range f.Metric {
		ok := label == ""
		for _, l := range m.Label {
			ok = ok || l.GetName() == label && l.GetValue() == want
		}
		if !ok {
			continue
		}
		if typ == dto.MetricType_COUNTER {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("%s has no sample with %s=%q", name, label, want)
	return 0
}

// TestMetrics scrapes /metrics before a refresh, after one, and after a
// denied and a throttled one, parsing each with Prometheus's parser.
func TestMetrics(t *testing.T) {
	srv, f := startServer(t, Config{Rand: seeded(5)}, shortLived)
	start := time.Now()
	get(t, "GET", srv.URL(), []string{testToken}, "")
	get(t, "GET", srv.URL(), []string{"wrong-token-wrong-token-wrong-token"}, "")
	fams, body := scrape(t, srv)
	t.Logf("before a refresh:\n%s", body)
	if n := value(t, fams, "gcp_aws_cred_refreshes_total", dto.MetricType_COUNTER, "result", "success"); n != 1 {
		t.Errorf("successes before a refresh: %v, want 1 (the first exchange)", n)
	}
	if v := value(t, fams, "gcp_aws_cred_credentials_expiry_seconds", dto.MetricType_GAUGE, "", ""); v <= 0 || v > shortLived.Seconds() {
		t.Errorf("expiry in %vs, want under %s", v, shortLived)
	}
	first := value(t, fams, "gcp_aws_cred_last_refresh_success_timestamp_seconds", dto.MetricType_GAUGE, "", "")
	if at := time.UnixMilli(int64(first * 1000)); at.Before(start.Add(-time.Second)) || at.After(time.Now()) {
		t.Errorf("last success at %s, started at %s", at, start)
	}
	if n := value(t, fams, "gcp_aws_cred_requests_total", dto.MetricType_COUNTER, "status", "200"); n != 1 {
		t.Errorf("200s: %v", n)
	}
	if n := value(t, fams, "gcp_aws_cred_requests_total", dto.MetricType_COUNTER, "status", "401"); n != 1 {
		t.Errorf("401s: %v", n)
	}
	if n := value(t, fams, "gcp_aws_cred_strangers_refused_total", dto.MetricType_COUNTER, "reason", "unauthorized"); n != 1 {
		t.Errorf("strangers refused: %v", n)
	}
	value(t, fams, "gcp_aws_cred_credentials_expiration_timestamp_seconds", dto.MetricType_GAUGE, "", "")
	for _, s := range append(f.secrets(), "web-1", testRole, testToken, "wrong-token") {
		if strings.Contains(body, s) {
			t.Fatalf("/metrics shows %q", s)
		}
	}

	waitFor(t, func() bool { return srv.Stats().Refreshes >= 2 })
	fams, body = scrape(t, srv)
	t.Logf("after a refresh:\n%s", body)
	if n := value(t, fams, "gcp_aws_cred_refreshes_total", dto.MetricType_COUNTER, "result", "success"); n < 2 {
		t.Errorf("successes after a refresh: %v", n)
	}
	if last := value(t, fams, "gcp_aws_cred_last_refresh_success_timestamp_seconds", dto.MetricType_GAUGE, "", ""); last <= first {
		t.Errorf("last success %v, not after the first %v", last, first)
	}

	f.failAlways(stsError(t, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"))
	waitFor(t, func() bool { return srv.Stats().Failures >= 1 })
	f.failAlways(throttled(t))
	waitFor(t, func() bool { return srv.Stats().Failures >= 2 })
	fams, body = scrape(t, srv)
	t.Logf("after a denied and a throttled refresh:\n%s", body)
	if n := value(t, fams, "gcp_aws_cred_refreshes_total", dto.MetricType_COUNTER, "result", "denied"); n != 1 {
		t.Errorf("denied: %v", n)
	}
	if n := value(t, fams, "gcp_aws_cred_refreshes_total", dto.MetricType_COUNTER, "result", "throttled"); n < 1 {
		t.Errorf("throttled: %v", n)
	}
	if n := value(t, fams, "gcp_aws_cred_refreshes_total", dto.MetricType_COUNTER, "result", "other"); n != 0 {
		t.Errorf("other: %v", n)
	}

	// Like /healthz: no token needed, but the Host must be this server's.
	if a := get(t, "GET", "http://"+srv.Addr()+MetricsPath, nil, "evil.example.com"); a.status != 403 {
		t.Errorf("with a foreign Host: %d", a.status)
	}
	if a := get(t, "POST", "http://"+srv.Addr()+MetricsPath, nil, ""); a.status != 405 || a.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d %q", a.status, a.header.Get("Allow"))
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("not within 10s")
		}
	}
}
