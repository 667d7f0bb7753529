//go:build unix

package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/output"
)

// helperEnv makes the test binary act as one of the processes the tests
// need instead of running tests: the server (serve, exec) or the command
// exec --serve runs (child).
const helperEnv = "SERVE_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "child":
		os.Exit(helperChild(os.Args[1:]))
	case "serve":
		os.Exit(helperServe())
	case "exec":
		os.Exit(helperExec(os.Args[1:]))
	case "bind":
		os.Exit(helperBind(os.Args[1]))
	case "activated":
		os.Exit(helperActivated())
	}
	os.Exit(99)
}

// helperServe is `gcp-aws-cred serve` with a fake exchange.
func helperServe() int {
	f := newFakeFetch(time.Hour)
	err := Run(context.Background(), RunConfig{
		Config: Config{Fetch: f.fetch, Role: testRole, Logger: NewLogger(os.Stderr, LogPlain, false)},
		Output: output.Env, Stdout: os.Stdout,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	return 0
}

// helperExec is `gcp-aws-cred exec --serve -- argv` with a fake exchange;
// it exits with the status the real command would.
func helperExec(argv []string) int {
	f := newFakeFetch(time.Hour)
	err := Exec(context.Background(), ExecConfig{
		Config:  Config{Fetch: f.fetch, Role: testRole, Logger: NewLogger(os.Stderr, LogPlain, true)},
		Argv:    argv,
		Environ: append(os.Environ(), helperEnv+"=child"),
	})
	var exit interface{ ExitCode() int }
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "helper:", err)
	return 1
}

// helperChild is the command exec --serve runs.
//
//	fetch        get credentials from the endpoint in the environment; print
//	             the key, the URL, and which hidden variables are set
//	exit N       exit with status N
//	kill SIG     die of signal SIG
//	signals      print "ready", then the name of each signal received;
//	             exit 7 on SIGTERM
func helperChild(args []string) int {
	switch args[0] {
	case "fetch":
		req, _ := http.NewRequest("GET", os.Getenv(URIEnv), nil)
		req.Header.Set("Authorization", os.Getenv(TokenEnv))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Printf("status=%d\nurl=%s\nbody=%s\n", resp.StatusCode, os.Getenv(URIEnv), b)
		for _, k := range append(hidden, "AWS_REGION", "AWS_DEFAULT_REGION", "UNRELATED") {
			if v, ok := os.LookupEnv(k); ok && k != URIEnv && k != TokenEnv {
				fmt.Printf("env %s=%s\n", k, v)
			}
		}
		return 0
	case "exit":
		n, _ := strconv.Atoi(args[1])
		return n
	case "kill":
		sig := map[string]syscall.Signal{"TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL}[args[1]]
		_ = syscall.Kill(os.Getpid(), sig)
		time.Sleep(10 * time.Second)
		return 0
	case "signals":
		ch := make(chan os.Signal, 16)
		signal.Notify(ch, forwarded()...)
		fmt.Println("ready")
		for s := range ch {
			fmt.Println(strings.ToUpper(s.String()))
			if s == syscall.SIGTERM {
				return 7
			}
		}
	}
	return 98
}
