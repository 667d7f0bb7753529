package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

// cmdFakeGoogle steers the fake Google endpoints that --impersonate uses:
//
//	fake-google adc KIND              write $WORK/KIND.json, an ADC file of KIND
//	                                  (authorized_user, service_account,
//	                                  external_account, impersonated_service_account),
//	                                  and point GOOGLE_APPLICATION_CREDENTIALS
//	                                  and GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT
//	                                  at it and at the fake; $TARGET_EMAIL,
//	                                  $TARGET_ID, $DELEGATE_EMAIL, $KEY_EMAIL are set
//	fake-google revoke TARGET MEMBER  take MEMBER's roles on TARGET away
//	fake-google fail STATUS MESSAGE   answer the next IAM call with this error
//	fake-google expire [rapt]         make the user's login answer invalid_grant
//	fake-google idtokens N            assert N ID tokens minted since the last count
//	fake-google no-secrets FILE       assert FILE holds none of its secrets
//	fake-google source KIND VALUE [OUTPUT_FILE]
//	                                  give $WORK/external_account.json the
//	                                  credential_source KIND (file, url,
//	                                  executable) with VALUE
func cmdFakeGoogle(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: fake-google adc|revoke|fail|expire|idtokens|no-secrets ...")
	}
	g := servers(ts).Google
	switch args[0] {
	case "adc":
		subject := ts.MkAbs("subject-token")
		ts.Check(os.WriteFile(subject, []byte(fakes.SubjectToken), 0o600))
		b, err := g.ADCFile(args[1], subject)
		ts.Check(err)
		p := ts.MkAbs(args[1] + ".json")
		ts.Check(os.WriteFile(p, b, 0o600))
		ts.Setenv("GOOGLE_APPLICATION_CREDENTIALS", p)
		ts.Setenv("GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT", g.URL)
		ts.Setenv("GOOGLE_URL", g.URL)
		ts.Setenv("TARGET_EMAIL", fakes.TargetEmail)
		ts.Setenv("TARGET_ID", fakes.TargetUniqueID)
		ts.Setenv("DELEGATE_EMAIL", fakes.DelegateEmail)
		ts.Setenv("KEY_EMAIL", fakes.KeyEmail)
		ts.Setenv("ADC_DIR", filepath.Dir(p))
	case "revoke":
		g.Revoke(args[1], args[2])
	case "fail":
		code, err := strconv.Atoi(args[1])
		ts.Check(err)
		g.FailNext(fakes.GoogleFault{Status: code, Message: strings.Join(args[2:], " ")})
	case "expire":
		g.ExpireLogin(len(args) > 1 && args[1] == "rapt")
	case "idtokens":
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		total := g.IDTokens()
		got := total - counted(ts, "idtokens")
		ts.Setenv("COUNTED_idtokens", strconv.Itoa(total))
		if (got == want) == neg {
			ts.Fatalf("ID tokens minted since the last count: got %d, want %d", got, want)
		}
	case "source":
		p := ts.MkAbs("external_account.json")
		var v map[string]any
		ts.Check(json.Unmarshal([]byte(ts.ReadFile(p)), &v))
		var src map[string]any
		switch args[1] {
		case "file", "url":
			src = map[string]any{args[1]: args[2]}
		case "executable":
			ex := map[string]any{"command": args[2], "timeout_millis": 5000}
			if len(args) > 3 {
				ex["output_file"] = ts.MkAbs(args[3])
			}
			src = map[string]any{"executable": ex}
		default:
			ts.Fatalf("unknown source kind %q", args[1])
		}
		v["credential_source"] = src
		b, err := json.Marshal(v)
		ts.Check(err)
		ts.Check(os.WriteFile(p, b, 0o600))
	case "no-secrets":
		text := ts.ReadFile(args[1])
		for _, s := range g.Secrets() {
			if strings.Contains(text, s) {
				ts.Fatalf("%s holds a secret of the Google fake (%d bytes of it)", args[1], len(s))
			}
		}
	default:
		ts.Fatalf("unknown fake-google command %q", args[0])
	}
}
