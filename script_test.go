package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cli"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

// TestMain registers the command in process: `exec gcp-aws-cred` in a
// script runs this test binary as gcp-aws-cred, which calls run, so script
// runs count towards coverage and no separate build is needed.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		cli.Name: func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs testdata/script/*.txtar, each script with its own fake
// metadata server and fake STS.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			_, err := setupFakes(e)
			return err
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"fake-metadata":   cmdFakeMetadata,
			"fake-sts":        cmdFakeSTS,
			"no-secrets":      cmdNoSecrets,
			"credential-doc":  cmdCredentialDoc,
			"free-port":       cmdFreePort,
			"wait-healthy":    cmdWaitHealthy,
			"fake-google":     cmdFakeGoogle,
			"fake-federation": cmdFakeFederation,
		},
	})
}

// setupFakes gives a script its own fake metadata server and fake STS, and
// the environment that points the command at them.
func setupFakes(e *testscript.Env) (*fakes.Servers, error) {
	srv, err := fakes.Start()
	if err != nil {
		return nil, err
	}
	e.Defer(srv.Close)
	e.Values["fakes"] = srv
	e.Values["federation"] = &federation{}
	e.Setenv("GCE_METADATA_HOST", srv.MetadataHost)
	e.Setenv("AWS_ENDPOINT_URL_STS", srv.STSURL)
	e.Setenv("STS_URL", srv.STSURL)
	e.Setenv("GOOD_HOST", srv.MetadataHost)
	// A safety net: should a script ever resolve a real AWS endpoint, the
	// request goes to a dead loopback proxy instead of the internet.
	// Loopback fakes are never proxied.
	e.Setenv("HTTPS_PROXY", "http://127.0.0.1:9")
	e.Setenv("SA_ID", fakes.DefaultUniqueID)
	e.Setenv("SA_EMAIL", fakes.DefaultEmail)
	return srv, nil
}

func servers(ts *testscript.TestScript) *fakes.Servers {
	return ts.Value("fakes").(*fakes.Servers)
}

func duration(ts *testscript.TestScript, s string) time.Duration {
	d, err := time.ParseDuration(s)
	ts.Check(err)
	return d
}

// cmdFakeMetadata steers the fake metadata server:
//
//	fake-metadata fail CODE...     answer these statuses first
//	fake-metadata answer TEXT      answer TEXT instead of tokens
//	fake-metadata delay DURATION   hold answers back
//	fake-metadata skew DURATION    stamp tokens with a shifted clock
//	fake-metadata instance NAME    act as Compute Engine VM NAME
//	fake-metadata requests N       assert N identity requests since the last count
//	fake-metadata stop             stop serving
func cmdFakeMetadata(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: fake-metadata fail|answer|delay|skew|instance|requests|stop ...")
	}
	srv := servers(ts)
	md := srv.Metadata
	switch args[0] {
	case "fail":
		for _, a := range args[1:] {
			code, err := strconv.Atoi(a)
			ts.Check(err)
			md.FailNext(code)
		}
	case "answer":
		md.AnswerWith(strings.Join(args[1:], " "))
	case "delay":
		md.Delay(duration(ts, args[1]))
	case "skew":
		md.Skew(duration(ts, args[1]))
	case "instance":
		md.SetInstance(map[string]any{"instance_name": args[1], "instance_id": "4711", "zone": "asia-northeast1-b", "project_id": "demo-project", "project_number": 123456789012})
	case "requests":
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		total := md.Requests()
		got := total - counted(ts, "metadata")
		ts.Setenv("COUNTED_metadata", strconv.Itoa(total))
		if (got == want) == neg {
			ts.Fatalf("metadata identity requests since the last count: got %d, want %d", got, want)
		}
	case "stop":
		srv.StopMetadata()
	default:
		ts.Fatalf("unknown fake-metadata command %q", args[0])
	}
}

var stsFaults = map[string]fakes.Fault{
	"Throttling":            fakes.Throttled,
	"IDPCommunicationError": fakes.IDPUnreachable,
	"InvalidIdentityToken":  fakes.IDPKeyMissing,
	"Unavailable":           fakes.Unavailable,
	"CaptivePortal":         fakes.CaptivePortal,
	"RegionDisabled":        fakes.RegionDisabled,
	"BadGatewayHTML":        {Status: 502, Body: "<html><body>502 Bad Gateway</body></html>"},
	"BadToken":              {Status: 400, Code: "InvalidIdentityToken", Message: "Incorrect token audience"},
	"PolicyTooLarge":        {Status: 400, Code: "PackedPolicyTooLarge", Message: "Packed size of consumed session policies exceeds 100%."},
	"IDPRejectedClaim":      {Status: 403, Code: "IDPRejectedClaim", Message: "Rejected claim"},
	"AccessDenied":          {Status: 403, Code: "AccessDenied", Message: "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
	"RedirectToHTTP":        {Status: 307, Body: "", Location: "http://sts.example.com/steal"},
	"EchoToken":             {Status: 400, Code: "ValidationError", Message: "1 validation error detected: Value '{token}' at 'webIdentityToken' failed to satisfy constraint"},
}

// cmdFakeSTS steers the fake STS:
//
//	fake-sts fail NAME...                      answer these faults first (see stsFaults)
//	fake-sts delay DURATION                    hold answers back
//	fake-sts role ARN MAX [AUD OAUD SUB]       know only these roles, with this trust ("-": unchecked)
//	fake-sts chain-role ARN MAX PRINCIPAL [ID] a role for AssumeRole, trusting PRINCIPAL's sessions, with sts:ExternalId ID
//	fake-sts requests N                        assert N requests since the last count
//	fake-sts form KEY [VALUE]                  assert the last request's form (with !: KEY absent)
//	fake-sts unsigned                          assert no request carried Authorization
//	fake-sts mark                              start counting requests from here
//	fake-sts tls                               serve HTTPS too: $STS_TLS_URL, $STS_TLS_PORT, $WORK/ca.pem
func cmdFakeSTS(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: fake-sts fail|delay|role|requests|form|unsigned|tls ...")
	}
	srv := servers(ts)
	s := srv.STS
	switch args[0] {
	case "fail":
		for _, a := range args[1:] {
			f, ok := stsFaults[a]
			if !ok {
				ts.Fatalf("unknown fault %q", a)
			}
			s.FailNext(f)
		}
	case "delay":
		s.Delay(duration(ts, args[1]))
	case "role":
		if s.Roles == nil {
			s.Roles = map[string]fakes.Role{}
		}
		r := fakes.Role{MaxSessionDuration: duration(ts, args[2])}
		if len(args) == 6 {
			dash := func(v string) string { return strings.TrimPrefix(v, "-") }
			r.Trust = &fakes.Trust{Aud: dash(args[3]), Oaud: dash(args[4]), Sub: dash(args[5])}
		}
		s.Roles[args[1]] = r
	case "chain-role":
		if s.Roles == nil {
			s.Roles = map[string]fakes.Role{}
		}
		r := fakes.Role{MaxSessionDuration: duration(ts, args[2]), AssumedBy: []string{args[3]}}
		if len(args) > 4 {
			r.ExternalID = args[4]
		}
		s.Roles[args[1]] = r
	case "requests":
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		total := len(s.Received())
		got := total - counted(ts, "sts")
		ts.Setenv("COUNTED_sts", strconv.Itoa(total))
		if (got == want) == neg {
			ts.Fatalf("STS requests since the last count: got %d, want %d", got, want)
		}
	case "form":
		rec := s.Received()
		if len(rec) == 0 {
			ts.Fatalf("STS received no request")
		}
		form := rec[len(rec)-1].Form
		_, present := form[args[1]]
		switch {
		case neg && present:
			ts.Fatalf("STS request has %s=%q", args[1], form.Get(args[1]))
		case neg:
		case !present:
			ts.Fatalf("STS request has no %s; it has %v", args[1], keys(form))
		case len(args) > 2 && form.Get(args[1]) != args[2]:
			ts.Fatalf("STS request has %s=%q, want %q", args[1], form.Get(args[1]), args[2])
		}
	case "unsigned":
		for _, r := range s.Received() {
			if r.Authorization != "" {
				ts.Fatalf("STS request was signed: Authorization %q", r.Authorization)
			}
			if r.ContentType != "application/x-www-form-urlencoded" {
				ts.Fatalf("STS request Content-Type %q", r.ContentType)
			}
		}
	case "mark":
		ts.Setenv("COUNTED_sts", strconv.Itoa(len(s.Received())))
	case "tls":
		url, ca := srv.StartSTSTLS()
		ts.Setenv("STS_TLS_URL", url)
		ts.Setenv("STS_TLS_PORT", url[strings.LastIndex(url, ":")+1:])
		ts.Check(os.WriteFile(ts.MkAbs("ca.pem"), ca, 0o644))
	default:
		ts.Fatalf("unknown fake-sts command %q", args[0])
	}
}

// counted is how many requests the previous "requests" assertion saw, kept
// in the script's environment so each assertion counts only what came since.
func counted(ts *testscript.TestScript, which string) int {
	n, _ := strconv.Atoi(ts.Getenv("COUNTED_" + which))
	return n
}

func keys[M ~map[string]V, V any](m M) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	return k
}

// cmdNoSecrets asserts that stdout or stderr of the last command holds no
// token minted by the fake metadata server (nor any of its three parts'
// signature) and no secret key or session token issued by the fake STS.
func cmdNoSecrets(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: no-secrets stdout|stderr")
	}
	text := ts.ReadFile(args[0])
	srv := servers(ts)
	var secrets []string
	for _, tok := range srv.Metadata.Minted() {
		parts := strings.Split(tok, ".")
		secrets = append(secrets, tok, parts[1], parts[2])
	}
	secrets = append(secrets, srv.STS.Issued()...)
	for _, s := range secrets {
		if strings.Contains(text, s) {
			ts.Fatalf("%s holds a secret (%d bytes of it)", args[0], len(s))
		}
	}
}

// cmdCredentialDoc asserts that stdout is exactly one credential_process
// document: the keys every SDK reads, in their exact case, Version the number
// 1, Expiration UTC RFC 3339 with Z and in the future, keys STS issued.
//
//	credential-doc [ACCOUNT [MIN-LIFETIME]]
func cmdCredentialDoc(ts *testscript.TestScript, neg bool, args []string) {
	out := ts.ReadFile("stdout")
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "}\n") {
		ts.Fatalf("stdout is not one JSON line: %q", out)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(out)))
	dec.UseNumber()
	var doc map[string]any
	ts.Check(dec.Decode(&doc))
	var got []string
	for k := range doc {
		got = append(got, k)
	}
	want := []string{"AccessKeyId", "AccountId", "Expiration", "SecretAccessKey", "SessionToken", "Version"}
	if diff := cmp.Diff(want, sortStrings(got)); diff != "" {
		ts.Fatalf("document keys (-want +got):\n%s", diff)
	}
	if v, ok := doc["Version"].(json.Number); !ok || v.String() != "1" {
		ts.Fatalf("Version is %#v, want the number 1", doc["Version"])
	}
	exp, _ := doc["Expiration"].(string)
	t, err := time.Parse(time.RFC3339, exp)
	if err != nil || !strings.HasSuffix(exp, "Z") {
		ts.Fatalf("Expiration %q is not UTC RFC 3339", exp)
	}
	minLife := 5 * time.Minute
	if len(args) > 1 {
		minLife = duration(ts, args[1])
	}
	if time.Until(t) < minLife {
		ts.Fatalf("Expiration %s is less than %s away", exp, minLife)
	}
	if len(args) > 0 && doc["AccountId"] != args[0] {
		ts.Fatalf("AccountId %v, want %s", doc["AccountId"], args[0])
	}
	issued := strings.Join(servers(ts).STS.Issued(), "\n")
	for _, k := range []string{"SecretAccessKey", "SessionToken"} {
		v, _ := doc[k].(string)
		if v == "" || !strings.Contains(issued, v) {
			ts.Fatalf("%s is not one STS issued", k)
		}
	}
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// cmdFreePort sets the variable NAME to a loopback port free right now,
// for a server a script starts in the background at a known address.
//
//	free-port NAME
func cmdFreePort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: free-port NAME")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	ts.Check(l.Close())
	ts.Setenv(args[0], port)
}

// cmdWaitHealthy waits up to 10 seconds for GET http://HOSTPORT/healthz to
// answer 200: a server started in the background is ready.
//
//	wait-healthy HOSTPORT
func cmdWaitHealthy(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: wait-healthy HOSTPORT")
	}
	client := &http.Client{Transport: &http.Transport{}, Timeout: time.Second}
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		resp, err := client.Get("http://" + args[0] + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	ts.Fatalf("no healthy server at %s after 10s", args[0])
}

// federation is a script's fake sign-in federation endpoint, once started.
type federation struct {
	fed *fakes.Federation
	url string
}

// cmdFakeFederation steers a fake AWS sign-in federation endpoint that
// accepts the keys the script's fake STS issued:
//
//	fake-federation start        serve it; its URL is $FEDERATION_URL
//	fake-federation fail NAME    answer the next getSigninToken with Refused, NotJSON or NoToken
//	fake-federation link         assert stdout is one login link carrying a sign-in token it issued
//	fake-federation hidden FILE  assert FILE (stdout, stderr) holds no sign-in token it issued
func cmdFakeFederation(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: fake-federation start|fail|link|hidden ...")
	}
	f := ts.Value("federation").(*federation)
	if args[0] != "start" && f.fed == nil {
		ts.Fatalf("fake-federation start first")
	}
	switch args[0] {
	case "start":
		f.fed = &fakes.Federation{STS: servers(ts).STS}
		srv := httptest.NewServer(f.fed)
		ts.Defer(srv.Close)
		f.url = srv.URL + "/federation"
		ts.Setenv("FEDERATION_URL", f.url)
	case "fail":
		faults := map[string]fakes.FederationFault{"Refused": fakes.FederationRefused, "NotJSON": fakes.FederationNotJSON, "NoToken": fakes.FederationNoToken}
		fault, ok := faults[args[1]]
		if !ok {
			ts.Fatalf("unknown federation fault %q", args[1])
		}
		f.fed.FailNext(fault)
	case "link":
		out := ts.ReadFile("stdout")
		if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
			ts.Fatalf("stdout is not one line (%d bytes)", len(out))
		}
		u, err := url.Parse(strings.TrimSuffix(out, "\n"))
		ts.Check(err)
		q := u.Query()
		tok := q.Get("SigninToken")
		if u.Scheme+"://"+u.Host+u.Path != f.url || q.Get("Action") != "login" || tok == "" || !slices.Contains(f.fed.Tokens(), tok) {
			ts.Fatalf("stdout is not a login link of %s carrying a token it issued", f.url)
		}
		if len(args) > 1 && q.Get("Destination") != args[1] {
			ts.Fatalf("the link's Destination is %q, want %q", q.Get("Destination"), args[1])
		}
		// The link works: the endpoint redirects to the destination.
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(u.String())
		ts.Check(err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != q.Get("Destination") {
			ts.Fatalf("the link answers HTTP %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	case "hidden":
		text := ts.ReadFile(args[1])
		for _, tok := range f.fed.Tokens() {
			for _, piece := range []string{tok, url.QueryEscape(tok), tok[:len(tok)/2], tok[len(tok)/2:]} {
				if strings.Contains(text, piece) {
					ts.Fatalf("%s holds a sign-in token (%d bytes of it)", args[1], len(piece))
				}
			}
		}
	default:
		ts.Fatalf("unknown fake-federation command %q", args[0])
	}
}
