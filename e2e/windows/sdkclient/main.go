// Command sdkclient is the AWS SDK for Go v2 on Windows, as a Go tool there
// uses it: it loads the shared config (or, with no profile, the container
// credentials endpoint from the environment), retrieves credentials through
// the SDK's own provider (processcreds runs the profile's credential_process
// line through cmd.exe /C; endpointcreds reads exec --serve's endpoint), and
// calls sts:GetCallerIdentity with them, signed with SigV4. The Windows test
// in the parent directory cross-builds it for windows/amd64 and runs it under
// Wine.
//
// It is its own module so that the SDK's config package and its services
// stay out of gcp-aws-cred's go.mod; the versions are the ones gcp-aws-cred
// uses.
//
// With -shortpath it prints a path's 8.3 short form instead, as `dir /x`
// shows it: the second workaround for a path with spaces.
//
// It prints one line of JSON: the caller's ARN and whether the credentials
// expire, or the SDK's error. It never prints a secret.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// result is what the test reads.
type result struct {
	Source    string `json:"source,omitempty"`
	CanExpire bool   `json:"can_expire,omitempty"`
	Arn       string `json:"arn,omitempty"`
	Error     string `json:"error,omitempty"`
}

func main() {
	profile := flag.String("profile", "", "shared config profile; empty: the environment's credentials (the container endpoint)")
	short := flag.String("shortpath", "", "print the 8.3 short form of this path (GetShortPathNameW) and exit")
	flag.Parse()
	if *short != "" {
		s, err := shortPath(*short)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sdkclient:", err)
			os.Exit(1)
		}
		fmt.Println(s)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var r result
	err := run(ctx, *profile, &r)
	if err != nil {
		r.Error = err.Error()
	}
	_ = json.NewEncoder(os.Stdout).Encode(r)
	if err != nil {
		os.Exit(1)
	}
}

func run(ctx context.Context, profile string, r *result) error {
	var opts []func(*config.LoadOptions) error
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return err
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return err
	}
	r.Source, r.CanExpire = creds.Source, creds.CanExpire
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return err
	}
	r.Arn = *out.Arn
	return nil
}
