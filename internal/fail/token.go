package fail

// The words of token's errors that name this command's flags: token says
// what went wrong with which peer or file, and only this package knows
// which flag or variable set the value a user should check.
const (
	// HintMetadataRequestLimit (with the limit) says one metadata request
	// is bounded apart from the run.
	HintMetadataRequestLimit = "each request to the metadata server may take %s and is not tried again; --timeout bounds the whole run"
	// HintServiceAccount says what --service-account takes.
	HintServiceAccount = "--service-account takes \"default\" or the email of a service account attached to this VM, or bound to this pod's Kubernetes service account with Workload Identity"
	// HintADCTypes lists the ADC file types --impersonate takes.
	HintADCTypes = "--impersonate takes ADC files of type authorized_user (gcloud auth application-default login), service_account (a key), external_account (Workload Identity Federation) and impersonated_service_account"
	// HintIAMEndpointBase says what --iam-credentials-endpoint takes.
	HintIAMEndpointBase = " or a Private Service Connect endpoint like https://iamcredentials-myendpoint.p.googleapis.com (from --iam-credentials-endpoint or GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT)"
	// HintIAMEndpoint: the IAM Credentials endpoint answered something
	// else than the API.
	HintIAMEndpoint = "check --iam-credentials-endpoint (or GCP_AWS_CRED_IAM_CREDENTIALS_ENDPOINT)"
	// HintIAMEndpointAPI: the endpoint answered, but not as the API.
	HintIAMEndpointAPI = HintIAMEndpoint + ": it must name the IAM Credentials API"
	// HintIDTokenSize: the endpoint answered a token far too long.
	HintIDTokenSize = "a Google ID token is about 1 KB: check --iam-credentials-endpoint"
	// HintIAMUnreachable: no answer from the IAM Credentials API.
	HintIAMUnreachable = "check the network and any proxy (HTTPS_PROXY, NO_PROXY); behind Private Service Connect, pass --iam-credentials-endpoint"
	// HintImpersonateEmail: the account to impersonate does not exist.
	HintImpersonateEmail = "--impersonate takes the email of the service account to act as, like NAME@PROJECT.iam.gserviceaccount.com: check its spelling and project"
	// HintIAMBadRequest: generateIdToken refused the request itself.
	HintIAMBadRequest = "check --audience and the emails in --impersonate"
)

// NotForImpersonate is the part of a message that says an ADC file's type
// is not one --impersonate takes.
const NotForImpersonate = "which --impersonate does not take"
