package explain

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

// Hop is one AssumeRole hop of a role chain (--chain-role), as data, for
// the messages about it. Hop 1 is the web-identity exchange (--role), so
// chained hops are numbered from 2.
type Hop struct {
	N, Of int    // this hop's number, and the hops' with the exchange
	Role  string // the ARN of the role this hop assumes
	// Previous is the ARN of the role whose session signs the call (a role
	// ARN, not the assumed-role ARN of its session).
	Previous   string
	ExternalID string // what was sent as ExternalId, or ""
}

// HopFailed words a failed hop. When STS refused it (AccessDenied), the
// hint is the trust-policy statement the role needs; any other failure
// keeps the cause's own message and hints, prefixed with the hop.
func HopFailed(h Hop, cause error) *Error {
	denied, ok := errors.AsType[*sts.Error](cause)
	if !ok || !errors.Is(cause, sts.ErrAccessDenied) {
		// The cause is worded when the command line is known (Explain).
		return &Error{Err: &HopError{Hop: h, Err: cause}}
	}
	e := Errorf(cause, "%s: STS refused to let a session of %s assume it (%s: %s)", h.where(), h.Previous, denied.Code, denied.Message)
	name := h.Role[strings.LastIndexByte(h.Role, '/')+1:]
	e.Hint(fmt.Sprintf("the trust policy of %s must admit %s; add this statement to it (aws iam get-role --role-name %s shows the policy; aws iam update-assume-role-policy replaces it):\n%s",
		h.Role, h.Previous, name, TrustStatement(h.Previous, h.ExternalID)))
	e.Hint(fmt.Sprintf("%s also needs permission to call sts:AssumeRole on %s in its own permissions policy, unless both are in the same account and the trust policy names the role", h.Previous, h.Role))
	if h.ExternalID != "" {
		e.Hint("the external ID sent was --external-id " + h.ExternalID + ": it must equal the role's sts:ExternalId condition exactly")
	} else {
		e.Hint("if the role's trust policy has an sts:ExternalId condition, pass its value with --external-id")
	}
	return e
}

func (h Hop) where() string {
	return fmt.Sprintf("hop %d of %d (--chain-role %s)", h.N, h.Of, h.Role)
}

// HopError is a hop that failed for a reason other than its trust policy.
type HopError struct {
	Hop
	Err error
}

// Error names the hop and the cause as it is.
func (e *HopError) Error() string { return e.where() + ": " + e.Err.Error() }

// Unwrap gives the cause.
func (e *HopError) Unwrap() error { return e.Err }

func (e *HopError) explain(g *Given) *Error {
	inner := g.Explain(e.Err)
	return &Error{Msg: e.where() + ": " + inner.Error(), Err: inner, worded: true}
}

// TrustStatement is the statement of a role's trust policy that lets
// sessions of previous assume it, with the sts:ExternalId condition when
// externalID is set.
func TrustStatement(previous, externalID string) string {
	type statement struct {
		Effect    string
		Principal map[string]string
		Action    string
		Condition map[string]map[string]string `json:",omitempty"`
	}
	st := statement{Effect: "Allow", Principal: map[string]string{"AWS": previous}, Action: "sts:AssumeRole"}
	if externalID != "" {
		st.Condition = map[string]map[string]string{"StringEquals": {"sts:ExternalId": externalID}}
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	return string(b)
}

// ChainTooLong words a --duration that a chained session cannot have; the
// value is quoted as it was given.
func ChainTooLong(d, limit time.Duration) *Error {
	short := strings.TrimSuffix(strings.TrimSuffix(limit.String(), "0s"), "0m") // 1h, not 1h0m0s
	return Quote("duration", d, "%s is longer than a chained session may last: STS limits sessions made with --chain-role to "+short+", whatever the role's maximum session duration").
		Hint(fmt.Sprintf("pass --duration %s or less (the default, 1h, is the most), or leave --chain-role out to get up to the role's maximum", short),
			"serve and exec --serve refresh the chain before it expires, so a long-running command needs no longer session")
}
