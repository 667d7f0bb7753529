package fakes

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// assumedRoleARN matches the ARN of a session the fake issued, to find the
// role it belongs to.
var assumedRoleARN = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):sts::(\d{12}):assumed-role/([\w+=,.@-]+)/[\w+=,.@-]+$`)

// chainLimit is how long STS lets a session made by role chaining last.
const chainLimit = time.Hour

// assumeRole answers AssumeRole as STS does for a caller signed in with a
// role session (role chaining): the request must be SigV4-signed with keys
// this fake issued and that are still valid; the target role's trust must
// name the caller's role, and its sts:ExternalId condition must be met; and
// the session lasts at most an hour, whatever the role's maximum.
func (s *STS) assumeRole(w http.ResponseWriter, r *http.Request, body []byte) {
	f := r.PostForm
	caller, sig, ok := s.signedSession(w, r, body)
	if !ok {
		return
	}
	if sig.service != "sts" {
		s.fail(w, Fault{Status: 403, Code: "SignatureDoesNotMatch", Message: "Credential should be scoped to correct service: 'sts'."})
		return
	}
	s.mu.Lock()
	lifetime := s.lifetime
	s.mu.Unlock()
	bad := func(msg string) { s.fail(w, Fault{Status: 400, Code: "ValidationError", Message: msg}) }
	target := f.Get("RoleArn")
	m := roleARN.FindStringSubmatch(target)
	switch {
	case f.Get("Version") != "2011-06-15":
		s.fail(w, Fault{Status: 400, Code: "InvalidAction", Message: "Unsupported version " + f.Get("Version")})
		return
	case m == nil:
		bad("Request ARN is invalid")
		return
	case !sessionName.MatchString(f.Get("RoleSessionName")):
		bad("1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
		return
	case len(f.Get("Policy")) > 2048:
		bad("1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048")
		return
	}
	if id, set := f["ExternalId"]; set && (len(id[0]) < 2 || len(id[0]) > 1224) {
		bad("1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must have length greater than or equal to 2")
		return
	}
	duration := time.Hour
	if d := f.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 {
			bad("1 validation error detected: Value '" + d + "' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200")
			return
		}
		duration = time.Duration(n) * time.Second
	}
	// The caller is a role session: this is role chaining, capped at an hour.
	if duration > chainLimit {
		bad("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
		return
	}
	denied := Fault{Status: 403, Code: "AccessDenied", Message: fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.arn, target)}
	if s.Roles != nil {
		role, ok := s.Roles[target]
		if !ok || !slices.ContainsFunc(role.AssumedBy, func(p string) bool { return sameRole(p, caller.arn) }) ||
			(role.ExternalID != "" && f.Get("ExternalId") != role.ExternalID) {
			s.fail(w, denied)
			return
		}
		if duration > role.MaxSessionDuration {
			bad("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
			return
		}
	}
	if lifetime > 0 {
		duration = lifetime
	}
	s.issueAssumeRole(w, m[1], m[2], m[3], f.Get("RoleSessionName"), duration)
}

// sameRole reports whether principal, a role ARN (with or without a path),
// names the role whose session is assumed, an assumed-role ARN.
func sameRole(principal, assumed string) bool {
	p := roleARN.FindStringSubmatch(principal)
	a := assumedRoleARN.FindStringSubmatch(assumed)
	return p != nil && a != nil && p[1] == a[1] && p[2] == a[2] && p[3] == a[3]
}

// issueAssumeRole answers AssumeRole with fresh keys, remembered for
// GetCallerIdentity and for a further hop.
func (s *STS) issueAssumeRole(w http.ResponseWriter, partition, account, roleName, session string, d time.Duration) {
	expires := s.Now().Add(d).UTC().Truncate(time.Second)
	res := assumeRoleResponse{Xmlns: stsXmlns, RequestID: newRequestID()}
	res.Result.AssumedRoleUser = assumedRoleUser{
		Arn:           fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", partition, account, roleName, session),
		AssumedRoleID: "AROA" + strings.ToUpper(randHex(8)) + ":" + session,
	}
	res.Result.Credentials = credentials{
		AccessKeyID:     "ASIA" + strings.ToUpper(randHex(8)),
		SecretAccessKey: base64.StdEncoding.EncodeToString(randBytes(30)),
		SessionToken:    "FwoGZXIvYXdzE" + base64.StdEncoding.EncodeToString(randBytes(300)),
		Expiration:      expires.Format(time.RFC3339),
	}
	cr, u := res.Result.Credentials, res.Result.AssumedRoleUser
	s.mu.Lock()
	s.issued = append(s.issued, cr.SecretAccessKey, cr.SessionToken)
	if s.sessions == nil {
		s.sessions = map[string]issuedKeys{}
	}
	s.sessions[cr.AccessKeyID] = issuedKeys{secret: cr.SecretAccessKey, token: cr.SessionToken, arn: u.Arn, userID: u.AssumedRoleID, account: account, expires: expires}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", res.RequestID)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(res)
}

type assumeRoleResponse struct {
	XMLName xml.Name `xml:"AssumeRoleResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		AssumedRoleUser assumedRoleUser
		Credentials     credentials
	} `xml:"AssumeRoleResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}
