package output

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// goSDKWindowsRewrite is what aws-sdk-go-v2's processcreds does to a
// credential process's output on Windows before parsing it
// (credentials/processcreds/provider.go: "windows adds slashes to quotes").
func goSDKWindowsRewrite(out []byte) []byte {
	return bytes.ReplaceAll(out, []byte(`\"`), []byte(`"`))
}

// TestProcessDocumentSurvivesGoSDKWindowsRewrite: the document never
// contains \", so the Go SDK's Windows rewrite leaves it as it is, and the
// values read back are the ones encoded, whatever quotes and backslashes
// they hold. No AWS value has either; a fake or future one must not make
// the SDK read a different secret or fail to parse.
func TestProcessDocumentSurvivesGoSDKWindowsRewrite(t *testing.T) {
	for _, v := range []string{
		`FwoGZXIvYXdzEJr//////////wEaDH==`,
		`a"b`, `trailing\`, `\"`, `\\"`, `"\"`, `\`, `\\\`, `"`, `C:\Program Files\x`, `\u0022`,
	} {
		c := creds
		c.SessionToken, c.SecretAccessKey = secret.New(v), secret.New(v+`\`)
		out, err := Encode(Process, c)
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if bytes.Contains(out, []byte(`\"`)) {
			t.Errorf("%q: the document contains \\\", which the Go SDK rewrites on Windows", v)
		}
		rewritten := goSDKWindowsRewrite(out)
		if !bytes.Equal(rewritten, out) {
			t.Errorf("%q: the Go SDK's rewrite changes the document", v)
		}
		var doc Document
		if err := json.Unmarshal(rewritten, &doc); err != nil {
			t.Fatalf("%q: invalid JSON after the Go SDK's rewrite: %v", v, err)
		}
		if doc.SessionToken != v || doc.SecretAccessKey != v+`\` {
			t.Errorf("%q: read back other values after the rewrite", v)
		}
	}
}

// FuzzProcessWindowsRewrite: for any value the process format accepts, the
// Go SDK's Windows rewrite is a no-op and the values round-trip.
func FuzzProcessWindowsRewrite(f *testing.F) {
	for _, v := range nasty {
		f.Add(v)
	}
	f.Add(`x\"y\\`)
	f.Fuzz(func(t *testing.T, v string) {
		c := creds
		c.SessionToken = secret.New(v)
		out, err := Encode(Process, c)
		if err != nil {
			return // refused: nothing reaches the SDK
		}
		var doc Document
		if err := json.Unmarshal(goSDKWindowsRewrite(out), &doc); err != nil || doc.SessionToken != v {
			t.Fatalf("the Go SDK's Windows rewrite breaks the document (err %v)", err)
		}
	})
}
