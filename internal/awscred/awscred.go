// Package awscred is the value every command hands on: the temporary AWS
// credentials STS issued. It is a leaf, so that the encoders in output and
// the server in serve depend on this value and not on how it was obtained.
package awscred

import (
	"fmt"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// Credentials are the temporary keys STS issued.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey secret.String
	SessionToken    secret.String
	// Expiration is when the keys stop working, in UTC.
	Expiration time.Time
	// AccountID is the account of the assumed role.
	AccountID string
	// AssumedRoleARN is arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION.
	AssumedRoleARN string
	// Issued is the Date of STS's answer, by STS's clock (zero when it
	// sent none): Expiration less Issued is the lifetime, whatever this
	// machine's clock says.
	Issued time.Time
	// RequestID is STS's ID for the request, for logs and support.
	RequestID string
}

// String describes the credentials without their secrets, so that printing
// a Credentials by mistake shows nothing that works as a key.
func (c Credentials) String() string {
	return fmt.Sprintf("credentials for %s (key %s, expires %s)", c.AssumedRoleARN, c.AccessKeyID, c.Expiration.Format(time.RFC3339))
}
