// Command fakeservers runs the project's fake metadata server and fake STS on
// loopback for scripts: the end-to-end tests, the benchmark, a developer
// trying things by hand.
//
// It prints the environment that points gcp-aws-cred at them, one
// NAME=value line each, then serves until its standard input closes, it is
// signalled, or -lifetime passes, so a forgotten one stops by itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
)

func main() {
	lifetime := flag.Duration("lifetime", 15*time.Minute, "stop after this long")
	instance := flag.String("instance", "demo-vm", "Compute Engine instance name put in tokens; empty acts like GKE or Cloud Run")
	flag.Parse()

	srv, err := fakes.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeservers:", err)
		os.Exit(1)
	}
	defer srv.Close()
	if *instance != "" {
		srv.Metadata.Instance = map[string]any{
			"instance_name": *instance, "instance_id": "4711471147114711471", "zone": "asia-northeast1-b",
			"project_id": "demo-project", "project_number": 123456789012,
			"instance_creation_timestamp": time.Now().Add(-24 * time.Hour).Unix(),
		}
	}
	for _, kv := range srv.Env() {
		fmt.Println(kv)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *lifetime)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	<-ctx.Done()
}
