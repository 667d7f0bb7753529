package token

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2/google"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/regfile"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// CloudPlatformScope is the scope of the caller's access token:
// generateIdToken takes cloud-platform or iam, and cloud-platform is what
// gcloud's application-default login grants.
const CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// Where Application Default Credentials come from, in the order Google's
// client libraries look (ADC.From).
const (
	FromEnv       = "GOOGLE_APPLICATION_CREDENTIALS"
	FromWellKnown = "gcloud's well-known file"
	FromMetadata  = "the metadata server"
)

// The types of ADC this package takes: the four an ADC file has in
// practice, and the metadata server's attached account.
const (
	AuthorizedUser             = "authorized_user"
	ServiceAccountKey          = "service_account"
	ExternalAccount            = "external_account"
	ImpersonatedServiceAccount = "impersonated_service_account"
	// ExternalAccountAuthorizedUser is a workforce identity federation
	// login from gcloud; x/oauth2 handles it as it handles authorized_user.
	ExternalAccountAuthorizedUser = "external_account_authorized_user"
	MetadataAccount               = "metadata"
)

// MaxADCFile is the largest ADC file read. A service account key file is
// about 2.3 KB; anything far larger is not an ADC file.
const MaxADCFile = 64 << 10

// ADC are the caller's Application Default Credentials as found: of what
// type, where, and for whom. They hold no token; AccessToken gets one.
type ADC struct {
	Type string // the file's type, or MetadataAccount
	From string // FromEnv, FromWellKnown or FromMetadata
	File string // empty for the metadata server
	// Member is the caller as IAM names it in a binding's --member
	// (serviceAccount:EMAIL, principalSet://…), when the credentials say;
	// empty for a user's login, whose email the file does not hold.
	Member string
	// TokenURL is where the access token is asked for, shown as every URL
	// is: scheme, host and path.
	TokenURL string

	json    []byte
	account string // metadata: the attached account asked for
	md      *metadata.Client
	ext     *externalFile // an external_account file's configuration
	// sourceTokenURL is where an impersonated_service_account file's
	// source credentials are refreshed, as shown.
	sourceTokenURL string
	// linkLocal are a credential source's URLs that may be reached in
	// cleartext when link-local (transport.AllowLinkLocal).
	linkLocal []string
}

// adcFile is the part of an ADC file that says what it is.
type adcFile struct {
	Type                           string `json:"type"`
	ClientEmail                    string `json:"client_email"`
	TokenURI                       string `json:"token_uri"`
	TokenURL                       string `json:"token_url"`
	Audience                       string `json:"audience"`
	ServiceAccountImpersonationURL string `json:"service_account_impersonation_url"`
	// Secrets, remembered so that a peer's echo of them is redacted.
	RefreshToken string `json:"refresh_token"`
	ClientSecret string `json:"client_secret"`
	PrivateKey   string `json:"private_key"`
	Source       struct {
		TokenURI     string `json:"token_uri"`
		RefreshToken string `json:"refresh_token"`
		ClientSecret string `json:"client_secret"`
		PrivateKey   string `json:"private_key"`
	} `json:"source_credentials"`
}

// WellKnownFile is where `gcloud auth application-default login` writes
// the user's credentials, as x/oauth2 looks for it.
func WellKnownFile() string {
	const f = "application_default_credentials.json"
	if runtime.GOOS == "windows" {
		return filepath.Join(os.Getenv("APPDATA"), "gcloud", f)
	}
	home := os.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".config", "gcloud", f)
}

// FindADC looks for Application Default Credentials as Google's client
// libraries do: the file GOOGLE_APPLICATION_CREDENTIALS names, gcloud's
// well-known file, then the metadata server's attached account (account,
// "default" if empty). It reads the file bounded and without blocking, and
// asks the bounded md rather than x/oauth2's unbounded metadata client.
func FindADC(ctx context.Context, md *metadata.Client, account string) (*ADC, error) {
	if p := os.Getenv(FromEnv); p != "" {
		return readADC(ctx, p, FromEnv)
	}
	wk := WellKnownFile()
	a, err := readADC(ctx, wk, FromWellKnown)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return a, err
	}
	account = cmp.Or(account, "default")
	if md == nil {
		md = defaultClient()
	}
	email, err := md.EmailWithContext(ctx, account)
	if err != nil {
		// A metadata server that answered is there: its answer is the
		// problem (an unknown attached account, say), not a lack of ADC.
		me := metadataError(err, account)
		if ctx.Err() != nil || me.Status != 0 {
			return nil, me
		}
		return nil, &ADCError{Stage: ADCNone, ADC: &ADC{File: wk, From: FromWellKnown}, Err: me}
	}
	email = strings.TrimSpace(email)
	return &ADC{Type: MetadataAccount, From: FromMetadata, Member: "serviceAccount:" + email, TokenURL: "http://" + MetadataHost() + "/computeMetadata/v1/instance/service-accounts/" + account + "/token", account: account, md: md}, nil
}

func readADC(ctx context.Context, path, from string) (*ADC, error) {
	a := &ADC{From: from, File: path}
	deadline, _ := ctx.Deadline()
	b, err := regfile.Read(path, MaxADCFile, deadline)
	if err != nil {
		if from == FromWellKnown && errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, &ADCError{Stage: ADCRead, ADC: a, Err: err}
	}
	var f adcFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, &ADCError{Stage: ADCJSON, ADC: a, Err: err}
	}
	for _, s := range []string{f.RefreshToken, f.ClientSecret, f.PrivateKey, f.Source.RefreshToken, f.Source.ClientSecret, f.Source.PrivateKey} {
		secret.New(s)
	}
	a.Type, a.json = f.Type, b
	switch f.Type {
	case AuthorizedUser, ExternalAccountAuthorizedUser:
		a.TokenURL = cmp.Or(f.TokenURI, f.TokenURL, google.Endpoint.TokenURL)
	case ServiceAccountKey:
		a.TokenURL = cmp.Or(f.TokenURI, google.Endpoint.TokenURL)
		// client_email goes into hints' gcloud lines: only an email.
		if ValidEmail(f.ClientEmail) {
			a.Member = "serviceAccount:" + f.ClientEmail
		}
	case ExternalAccount:
		a.ext = &externalFile{}
		_ = json.Unmarshal(b, a.ext)
		a.remember()
		a.TokenURL = cmp.Or(f.TokenURL, "https://sts.googleapis.com/v1/token")
		a.Member = poolMember(f.Audience)
		if e := impersonatedEmail(f.ServiceAccountImpersonationURL); e != "" {
			a.Member = "serviceAccount:" + e
		}
	case ImpersonatedServiceAccount:
		a.TokenURL = f.ServiceAccountImpersonationURL
		a.sourceTokenURL = shownURL(cmp.Or(f.Source.TokenURI, google.Endpoint.TokenURL))
		if e := impersonatedEmail(f.ServiceAccountImpersonationURL); e != "" {
			a.Member = "serviceAccount:" + e
		}
	default:
		a.Type = clean.Flatten(f.Type, 60)
		return nil, &ADCError{Stage: ADCType, ADC: a}
	}
	a.TokenURL = shownURL(a.TokenURL)
	return a, nil
}

// remember registers for redaction the secrets an external_account file's
// credential source sends, and notes which of its URLs are link-local.
func (a *ADC) remember() {
	cs := a.ext.CredentialSource
	for _, v := range cs.Headers {
		secret.New(v)
	}
	if strings.HasPrefix(cs.EnvironmentID, "aws") {
		// The AWS source signs with these when they are set, and a peer
		// may echo the signed request.
		for _, k := range []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
			secret.New(os.Getenv(k))
		}
		a.linkLocal = []string{cs.URL, cs.RegionURL, cs.IMDSv2SessionTokenURL}
	} else if cs.URL != "" {
		a.linkLocal = []string{cs.URL}
	}
}

// poolMember is the IAM member for every identity of the workload identity
// pool of a provider's audience: //iam.googleapis.com/POOL/providers/X
// becomes principalSet://iam.googleapis.com/POOL/*.
func poolMember(audience string) string {
	rest, ok := strings.CutPrefix(audience, "//iam.googleapis.com/")
	if !ok {
		return ""
	}
	pool, _, ok := strings.Cut(rest, "/providers/")
	if !ok || !strings.Contains(pool, "/workloadIdentityPools/") {
		return ""
	}
	return "principalSet://iam.googleapis.com/" + pool + "/*"
}

// impersonatedEmail is the account a generateAccessToken URL acts as.
func impersonatedEmail(u string) string {
	i := strings.Index(u, "/serviceAccounts/")
	if i < 0 {
		return ""
	}
	email, _, _ := strings.Cut(u[i+len("/serviceAccounts/"):], ":")
	if email, err := url.PathUnescape(email); err == nil && ValidEmail(email) {
		return email
	}
	return ""
}
