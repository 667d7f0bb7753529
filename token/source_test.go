package token

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/google/externalaccount"
)

// TestSubjectSources: each failure of a file, URL or program source says
// what went wrong in its own words, quoting nothing the source gave.
func TestSubjectSources(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			fmt.Fprint(w, `{"tok":"url-token"}`)
		case "/big":
			fmt.Fprint(w, strings.Repeat("a", MaxSubjectToken+1))
		default:
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, "SECRET-BODY")
		}
	}))
	defer srv.Close()
	asJSON := externalaccount.Format{Type: "json", SubjectTokenFieldName: "tok"}
	future := time.Now().Add(time.Hour).Unix()
	okResponse := fmt.Sprintf(`{"version":1,"success":true,"token_type":"urn:ietf:params:oauth:token-type:jwt","id_token":"program-token","expiration_time":%d}`, future)
	program := func(script string) *externalaccount.ExecutableConfig {
		return &externalaccount.ExecutableConfig{Command: "/bin/sh " + file(fmt.Sprintf("p%d.sh", len(script)), script)}
	}
	t.Setenv(AllowExecutables, "1")
	for _, tc := range []struct {
		name string
		cs   externalaccount.CredentialSource
		tok  string
		err  string
	}{
		{"file text", externalaccount.CredentialSource{File: file("text", " file-token\n")}, "file-token", ""},
		{"file missing", externalaccount.CredentialSource{File: filepath.Join(dir, "none")}, "", "the credential source file " + dir + "/none: "},
		{"file empty", externalaccount.CredentialSource{File: file("empty", "\n")}, "", ": it is empty"},
		{"file not JSON", externalaccount.CredentialSource{File: file("text2", "SECRET"), Format: asJSON}, "", `: it is not a JSON object, as format.type "json" says`},
		{"file no field", externalaccount.CredentialSource{File: file("json", `{"x":"SECRET"}`), Format: asJSON}, "", `: its JSON has no string field "tok" (format.subject_token_field_name)`},
		{"file bad format", externalaccount.CredentialSource{File: file("text3", "SECRET"), Format: externalaccount.Format{Type: "xml"}}, "", `: format.type must be "text" or "json"`},
		{"url json", externalaccount.CredentialSource{URL: srv.URL + "/ok?key=SECRET", Format: asJSON}, "url-token", ""},
		{"url refused", externalaccount.CredentialSource{URL: srv.URL + "/no?key=SECRET"}, "", "the credential source url " + srv.URL + "/no: answered HTTP 403"},
		{"url too large", externalaccount.CredentialSource{URL: srv.URL + "/big"}, "", ": answered more than 256 KiB"},
		{"url unreachable", externalaccount.CredentialSource{URL: "http://127.0.0.1:1/x"}, "", ": cannot reach it"},
		{"url cleartext", externalaccount.CredentialSource{URL: "http://subject.example.com/x"}, "", ": plain http:// is accepted only on loopback and link-local addresses"},
		{"program", externalaccount.CredentialSource{Executable: program("echo '" + okResponse + "'")}, "program-token", ""},
		{"program no command", externalaccount.CredentialSource{Executable: &externalaccount.ExecutableConfig{Command: " "}}, "", ": credential_source.executable has no command"},
		{"program timeout", externalaccount.CredentialSource{Executable: &externalaccount.ExecutableConfig{Command: "true", TimeoutMillis: new(1000)}}, "", ": timeout_millis must be from 5000 to 120000"},
		{"program exits", externalaccount.CredentialSource{Executable: program("echo SECRET; exit 3")}, "", ": it exited with status 3"},
		{"program missing", externalaccount.CredentialSource{Executable: &externalaccount.ExecutableConfig{Command: dir + "/none"}}, "", ": it could not be run: "},
		{"program failure", externalaccount.CredentialSource{Executable: program(`echo '{"version":1,"success":false,"code":"E1","message":"no login"}'`)}, "", ": its output reports a failure: E1: no login"},
		{"program no version", externalaccount.CredentialSource{Executable: program(`echo '{"success":true}'`)}, "", ": its output has no version"},
		{"program version 2", externalaccount.CredentialSource{Executable: program(`echo '{"version":2,"success":true,"token_type":"x"}'`)}, "", ": its output has version 2; version 1 is supported"},
		{"program expired", externalaccount.CredentialSource{Executable: program(`echo '{"version":1,"success":true,"token_type":"urn:ietf:params:oauth:token-type:jwt","id_token":"t","expiration_time":1}'`)}, "", ": its output holds a token that has expired"},
		{"program saml", externalaccount.CredentialSource{Executable: program(`echo '{"version":1,"success":true,"token_type":"urn:ietf:params:oauth:token-type:saml2"}'`)}, "", ": its output has no saml_response"},
		{"output_file fresh", externalaccount.CredentialSource{Executable: &externalaccount.ExecutableConfig{Command: "false", OutputFile: file("out", okResponse)}}, "program-token", ""},
		{"output_file stale", externalaccount.CredentialSource{Executable: &externalaccount.ExecutableConfig{Command: "/bin/sh " + file("o.sh", "echo '"+okResponse+"'"), OutputFile: file("old", `{"version":1,"success":true,"expiration_time":1}`)}}, "program-token", ""},
		{"output_file bad", externalaccount.CredentialSource{Executable: &externalaccount.ExecutableConfig{Command: "false", OutputFile: file("bad", `SECRET`)}}, "", "bad: its output_file is not a JSON response"},
		{"output_file no expiry", externalaccount.CredentialSource{Executable: &externalaccount.ExecutableConfig{Command: "false", OutputFile: file("noexp", `{"version":1,"success":true,"token_type":"urn:ietf:params:oauth:token-type:jwt","id_token":"t"}`)}}, "", ": its output_file has no expiration_time, which an output_file needs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &subjectSupplier{f: &externalFile{CredentialSource: tc.cs}, hc: NewGoogleClient("test", nil)}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tok, err := s.SubjectToken(ctx, externalaccount.SupplierOptions{})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if tok != tc.tok || !strings.Contains(got, tc.err) || (tc.err == "") != (err == nil) || strings.Contains(got, "SECRET") {
				t.Errorf("got %q, %q; want %q, %q", tok, got, tc.tok, tc.err)
			}
		})
	}
	t.Setenv(AllowExecutables, "")
	s := &subjectSupplier{f: &externalFile{CredentialSource: externalaccount.CredentialSource{Executable: &externalaccount.ExecutableConfig{Command: "true"}}}}
	if _, err := s.SubjectToken(context.Background(), externalaccount.SupplierOptions{}); err == nil || !strings.HasSuffix(err.Error(), ": programs are run only when GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1 is set") {
		t.Errorf("without %s: %v", AllowExecutables, err)
	}
}
