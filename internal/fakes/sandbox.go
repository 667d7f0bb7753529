package fakes

import "time"

// The sandbox's roles, in the fake account 123456789012. Each shows one
// thing by hand: a role that admits this workload, one whose trust policy
// does not (AccessDenied), one whose maximum session is an hour (so
// --duration 2h fails, and doctor finds the limit), and two reached by role
// chaining, one of them behind an external ID.
const (
	SandboxAccount = "123456789012"
	// AllowedRole trusts DefaultUniqueID with audience sts.amazonaws.com,
	// as the recommended policy in docs/aws-setup.md does; sessions up to 12 h.
	AllowedRole = "arn:aws:iam::" + SandboxAccount + ":role/aws-allow-gcp-access"
	// DeniedRole trusts another service account (OtherUniqueID).
	DeniedRole = "arn:aws:iam::" + SandboxAccount + ":role/someone-elses-role"
	// OneHourRole trusts this workload, with a 1 h maximum session.
	OneHourRole = "arn:aws:iam::" + SandboxAccount + ":role/one-hour-max"
	// OtherUniqueID is the service account DeniedRole trusts.
	OtherUniqueID = "117239874561234500001"
	// ImpersonatedRole trusts TargetUniqueID, the account --impersonate
	// acts as in the sandbox: the same trust policy, for the target.
	ImpersonatedRole = "arn:aws:iam::" + SandboxAccount + ":role/aws-allow-impersonated"
	// ChainedRole is reached only by role chaining (--chain-role): its
	// trust admits sessions of AllowedRole with AssumeRole, and no Google
	// token.
	ChainedRole = "arn:aws:iam::" + SandboxAccount + ":role/sandbox-deploy"
	// ExternalIDRole admits sessions of ChainedRole that send
	// SandboxExternalID (an sts:ExternalId condition): --external-id.
	ExternalIDRole = "arn:aws:iam::" + SandboxAccount + ":role/sandbox-audit"
	// SandboxExternalID is the external ID ExternalIDRole asks for.
	SandboxExternalID = "sandbox-7f3c"
)

// SandboxRoles returns the sandbox's roles with their trust policies, for
// STS.Roles or Options.Roles. A role ARN not among them is refused with
// AccessDenied, as STS refuses a role that does not exist.
func SandboxRoles() map[string]Role {
	trusts := func(id string) *Trust { return &Trust{Aud: id, Oaud: "sts.amazonaws.com", Sub: id} }
	return map[string]Role{
		AllowedRole:      {MaxSessionDuration: 12 * time.Hour, Trust: trusts(DefaultUniqueID)},
		DeniedRole:       {MaxSessionDuration: 12 * time.Hour, Trust: trusts(OtherUniqueID)},
		OneHourRole:      {MaxSessionDuration: time.Hour, Trust: trusts(DefaultUniqueID)},
		ImpersonatedRole: {MaxSessionDuration: 12 * time.Hour, Trust: trusts(TargetUniqueID)},
		ChainedRole:      {MaxSessionDuration: 12 * time.Hour, Trust: trusts(OtherUniqueID), AssumedBy: []string{AllowedRole}},
		ExternalIDRole:   {MaxSessionDuration: 12 * time.Hour, Trust: trusts(OtherUniqueID), AssumedBy: []string{ChainedRole}, ExternalID: SandboxExternalID},
	}
}
