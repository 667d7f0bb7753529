// Command agentfakes serves the fake metadata server and fake STS for
// bench/agent.py, with every STS answer held back by -sts-delay (a slow
// STS, as a real one is tens to hundreds of milliseconds away). It prints
// the variables that point gcp-aws-cred and the AWS CLI at them, then
// serves until stdin closes.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

func main() {
	delay := flag.Duration("sts-delay", 0, "hold every STS answer back this long")
	flag.Parse()
	srv, err := fakes.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer srv.Close()
	srv.STS.Delay(*delay)
	fmt.Printf("GCE_METADATA_HOST=%s\nAWS_ENDPOINT_URL_STS=%s\nAWS_ENDPOINT_URL=%s\n\n", srv.MetadataHost, srv.STSURL, srv.STSURL)
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Hour):
	}
	n := 0
	for _, r := range srv.STS.Received() {
		if r.Form.Get("Action") == "AssumeRoleWithWebIdentity" {
			n++
		}
	}
	fmt.Fprintf(os.Stderr, "assume_role_with_web_identity=%d\n", n)
}
