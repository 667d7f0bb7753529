package serve

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"sync"
	"testing"
	"time"

	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/awscred"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

const testRole = "arn:aws:iam::123456789012:role/r"

// fakeFetch stands in for the Google-token-and-STS exchange: it issues
// credentials living life from now (with STS's whole-second Expiration),
// records when it was called, and answers queued errors first. Tests that
// cross a real network use the fakes package instead. Inside a synctest
// bubble, now is the bubble's.
type fakeFetch struct {
	life time.Duration
	// issuerAhead, when set, is how far STS's clock is ahead of this
	// machine's: the credentials carry a Date (Issued) and an Expiration
	// by that clock.
	issuerAhead time.Duration
	dated       bool

	mu      sync.Mutex
	calls   []time.Time
	errs    []error
	always  error         // when set, every call fails with it
	block   chan struct{} // when set, calls wait for it to close
	blockAt int           // calls before this one do not wait for block
	deaf    bool          // when set, a call waiting for block ignores its context, as a hung source does
	entered chan struct{} // when set, gets a value as each call starts
	issued  []string
}

// newFakeFetch returns a fake issuing credentials that live life. It
// reads time.Now: the bubble's clock inside a synctest bubble, the real one
// elsewhere.
func newFakeFetch(life time.Duration) *fakeFetch {
	return &fakeFetch{life: life}
}

func (f *fakeFetch) fetch(ctx context.Context) (awscred.Credentials, error) {
	f.mu.Lock()
	now := time.Now()
	f.calls = append(f.calls, now)
	n := len(f.calls)
	block, entered, deaf := f.block, f.entered, f.deaf
	if n < f.blockAt {
		block = nil
	}
	var err error
	switch {
	case len(f.errs) > 0:
		err, f.errs = f.errs[0], f.errs[1:]
	case f.always != nil:
		err = f.always
	}
	f.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if block != nil && deaf {
		<-block
	} else if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return awscred.Credentials{}, ctx.Err()
		}
	}
	if err != nil {
		return awscred.Credentials{}, err
	}
	secretKey := fmt.Sprintf("secret-%d-wJalrXUtnFEMI/K7MDENG", n)
	sessionToken := fmt.Sprintf("FwoGZXIvYXdzE-session-%d", n)
	f.mu.Lock()
	f.issued = append(f.issued, secretKey, sessionToken)
	f.mu.Unlock()
	c := awscred.Credentials{
		AccessKeyID:     fmt.Sprintf("ASIAFAKE%08d", n),
		SecretAccessKey: secret.New(secretKey),
		SessionToken:    secret.New(sessionToken),
		Expiration:      now.Add(f.issuerAhead + f.life).Truncate(time.Second).UTC(),
		AccountID:       "123456789012",
		AssumedRoleARN:  "arn:aws:sts::123456789012:assumed-role/r/web-1",
		RequestID:       fmt.Sprintf("c0ffee00-0000-4000-8000-%012d", n),
	}
	if f.dated || f.issuerAhead != 0 {
		c.Issued = now.Add(f.issuerAhead).Truncate(time.Second).UTC()
	}
	return c, nil
}

func (f *fakeFetch) set(fn func(f *fakeFetch)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeFetch) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeFetch) times() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls...)
}

func (f *fakeFetch) fail(errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, errs...)
}

func (f *fakeFetch) failAlways(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.always = err
}

func (f *fakeFetch) secrets() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issued...)
}

// stsError is the error the real sts client returns when STS answers with
// code and message, built by running the client's own error path.
func stsError(t testing.TB, code, msg string) error {
	t.Helper()
	c := &sts.Client{
		API: sts.APIFunc(func(context.Context, *awssts.AssumeRoleWithWebIdentityInput, ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
			return nil, &smithy.GenericAPIError{Code: code, Message: msg}
		}),
		Endpoint: "https://sts.us-east-1.amazonaws.com",
		Region:   "us-east-1",
	}
	_, err := c.Exchange(context.Background(), secret.New("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"), sts.Request{RoleARN: testRole, SessionName: "web-1"})
	if err == nil {
		t.Fatal("the client did not fail")
	}
	return err
}

func throttled(t testing.TB) error { return stsError(t, "Throttling", "Rate exceeded") }

// seeded is a reproducible random source.
func seeded(seed uint64) Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// fixed is a random source that always draws x: the fixed-point schedule.
type fixed float64

func (x fixed) Float64() float64 { return float64(x) }

// syncBuffer is a log sink safe for the refresher's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startPiped starts cmd, a helper process, with its stdout piped and its
// stderr kept, and kills it when the test ends.
func startPiped(t *testing.T, cmd *exec.Cmd) (*bufio.Reader, *syncBuffer) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return bufio.NewReader(stdout), stderr
}
