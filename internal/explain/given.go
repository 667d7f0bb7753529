package explain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/transport"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

// Given is what only the command line knows about a run: how the person
// gave the values a message quotes.
type Given struct {
	// As maps a flag's name to how its value was given: "--duration 90",
	// or the variable it came from, "GCP_AWS_CRED_DURATION=90". A flag not
	// here is quoted as --NAME and the value's own form.
	As map[string]string
	// EndpointFrom names what gave the STS endpoint ("--sts-endpoint",
	// "AWS_ENDPOINT_URL_STS"), or "" when none was given.
	EndpointFrom string
	// Timeout is the run's deadline, in a hint when the run ends there;
	// zero when it bounds serve's exchanges instead (PerExchange).
	Timeout time.Duration
	// TokenArgs decide which token a run gets (--impersonate EMAIL,
	// --audience …), repeated in a hint that names another command.
	TokenArgs []string
}

// PerExchange is g for the exchanges of serve, whose deadline is not the
// run's.
func (g *Given) PerExchange() *Given {
	c := *g
	c.Timeout = 0
	return &c
}

// quote is flag name's value as given, or --NAME and v when not known.
func (g *Given) quote(name string, v any) string {
	if s, ok := g.As[name]; ok {
		return s
	}
	return fmt.Sprintf("--%s %v", name, v)
}

// runDeadline is the hint for a run that ended at its deadline, or "".
func (g *Given) runDeadline() string {
	if g == nil || g.Timeout == 0 {
		return ""
	}
	return "the whole run is bounded by " + cmp.Or(g.As["timeout"], "--timeout "+g.Timeout.String()+" (the default)")
}

// Command is a command line of this program to run next, quoted for a
// hint, with the TokenArgs so that it looks at the same token.
func (g *Given) Command(words ...string) string {
	words = append([]string{clean.Name}, words...)
	if g != nil {
		for _, a := range g.TokenArgs {
			words = append(words, shellQuote(a))
		}
	}
	return "`" + strings.Join(words, " ") + "`"
}

// shellQuote makes w one word for POSIX shells (sh, bash, zsh) when a
// hint's command line is pasted: a value from an ADC file may hold $(…),
// which would run, or a *, which zsh refuses as a glob that matches nothing.
func shellQuote(w string) string {
	if w != "" && !strings.ContainsFunc(w, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("@%+=:,./_-", r))
	}) {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// Explain turns the typed errors in err's chain into messages with hints,
// in the words of the command line g describes. An *Error is kept, its
// cause explained; what Explain does not know is returned as it is.
func (g *Given) Explain(err error) error {
	if g == nil {
		g = &Given{}
	}
	switch e := err.(type) {
	case *HopError:
		return e.explain(g)
	case *Error:
		if e.worded {
			return e
		}
		c := *e
		c.Err = g.Explain(e.Err)
		if c.flag != "" {
			c.Msg, c.flag = fmt.Sprintf(c.format, g.quote(c.flag, c.value)), ""
		}
		return g.finish(&c)
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		// kong joins a command's error with its hooks'.
		var errs []error
		for _, e := range j.Unwrap() {
			errs = append(errs, g.Explain(e))
		}
		if len(errs) == 1 {
			return errs[0]
		}
		return errors.Join(errs...)
	}
	e := g.word(err)
	if e == nil {
		return err
	}
	e.worded = true
	return g.finish(e)
}

// word words the typed errors of sts and token, or returns nil for an
// error that is none of them.
func (g *Given) word(err error) *Error {
	switch e := err.(type) {
	case *sts.Error:
		if e.Code != "" {
			return g.stsAPI(e)
		}
		return g.stsCall(e)
	case *sts.ParamError:
		return g.stsParam(e)
	case *sts.CABundleError:
		return g.caBundle(e)
	case *token.MetadataError:
		return metadataFailure(e)
	case *token.AnswerError:
		return badAnswer(e)
	case *token.IAMError:
		if e.Problem != transport.EndpointOK {
			return iamEndpoint(e)
		}
		return iamFailure(e)
	case *token.ADCError:
		return adcFailure(e)
	case *token.HostError:
		return badHost(e)
	}
	return nil
}

// finish adds the hint of what set the run's deadline, as given, to an
// error that ended there, and drops the hints left empty.
func (g *Given) finish(e *Error) *Error {
	if e.atDeadline {
		e.Hints = append(slices.Clip(e.Hints), g.runDeadline())
		e.atDeadline = false
	}
	e.Hints = slices.DeleteFunc(slices.Clip(e.Hints), func(h string) bool { return h == "" })
	return e
}

// AtDeadline marks e as ended by the run's deadline: Explain adds what set
// that deadline, as the person gave it.
func (e *Error) AtDeadline() *Error {
	e.atDeadline = true
	return e
}

// PerExchange words err, and gives a deadline error of serve's its hint:
// there the deadline, timeout, bounds each exchange.
func PerExchange(err error, timeout time.Duration) error {
	err = (&Given{}).Explain(err)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	hints := append(Hints(err), fmt.Sprintf("in serve, --timeout (%s) bounds each exchange, its retries included, not the life of the server; raise it if the metadata server or STS answers slowly", timeout))
	return &Error{Msg: err.Error(), Hints: hints, Err: context.DeadlineExceeded}
}

// Quote is an error whose message quotes the value of a flag: format has
// one %s, which Explain fills with the value as it was given ("--timeout
// 0", "GCP_AWS_CRED_TIMEOUT=0"); until then it reads --FLAG and v.
func Quote(flag string, v any, format string) *Error {
	return &Error{Msg: fmt.Sprintf(format, (&Given{}).quote(flag, v)), flag: flag, value: v, format: format}
}
