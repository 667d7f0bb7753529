// Command demo runs the whole gcp-aws-cred flow on this machine, without
// any cloud: it starts the project's fake metadata server and fake STS on
// loopback, builds gcp-aws-cred, and runs it against them the way an AWS SDK
// would, printing what each step shows.
//
//	go run ./internal/cmd/demo
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/testbin"
)

const role = fakes.AllowedRole

func main() {
	if err := demo(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func demo() error {
	// Say what is happening before anything slow: the build below may
	// download modules and compile for a minute on a fresh machine.
	fmt.Println("# starting a fake metadata server and a fake STS on loopback")
	// A Compute Engine VM, and roles with trust policies: the one assumed
	// trusts exactly this workload, as the policy in docs/aws-setup.md says.
	srv, err := fakes.StartWith(fakes.Options{Platform: fakes.ComputeEngine, Roles: fakes.SandboxRoles()})
	if err != nil {
		return err
	}
	defer srv.Close()

	fmt.Println("# building gcp-aws-cred with go build (the first time, this downloads modules and may take a minute)")
	start := time.Now()
	// go build prints nothing while it compiles: say the demo is alive.
	built := make(chan struct{})
	go func() {
		tick := time.NewTicker(15 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-built:
				return
			case <-tick.C:
				fmt.Printf("# still building (%s)\n", time.Since(start).Round(time.Second))
			}
		}
	}()
	bin, cleanup, err := testbin.Build()
	close(built)
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Printf("# built in %s\n", time.Since(start).Round(100*time.Millisecond))
	env := append(os.Environ(), srv.Env()...)
	fmt.Printf("# fake metadata server: GCE_METADATA_HOST=%s\n# fake STS:             AWS_ENDPOINT_URL_STS=%s\n\n", srv.MetadataHost, srv.STSURL)

	steps := []struct {
		say  string
		args []string
	}{
		{"the credential process, as an SDK runs it", []string{"--role", role}},
		{"the same credentials for a shell", []string{"--role", role, "--output", "env"}},
		{"a role whose trust policy does not admit this workload: the error says why", []string{"--role", fakes.DeniedRole}},
	}
	for _, s := range steps {
		fmt.Printf("# %s\n$ gcp-aws-cred %s\n", s.say, strings.Join(s.args, " "))
		cmd := exec.Command(bin, s.args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, os.Stdout, os.Stdout
		err := cmd.Run()
		fmt.Printf("# exit status %d\n\n", cmd.ProcessState.ExitCode())
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			return err
		}
	}
	return nil
}
