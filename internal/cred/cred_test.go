package cred

import (
	"os"
	"strings"
	"testing"

	"github.com/gcp-aws-cred/gcp-aws-cred/token"
)

func TestEndpointPrecedence(t *testing.T) {
	for _, tc := range []struct {
		flag, sts, all, ignore, want string
	}{
		{want: ""},
		{all: "https://all", want: "https://all"},
		{sts: "https://sts", all: "https://all", want: "https://sts"},
		{flag: "https://flag", sts: "https://sts", all: "https://all", want: "https://flag"},
		{sts: "https://sts", all: "https://all", ignore: "true", want: ""},
		{flag: "https://flag", ignore: "TRUE", want: "https://flag"},
	} {
		t.Setenv("AWS_ENDPOINT_URL_STS", tc.sts)
		t.Setenv("AWS_ENDPOINT_URL", tc.all)
		t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", tc.ignore)
		o := Options{STSEndpoint: tc.flag}
		if got := o.Endpoint(); got != tc.want {
			t.Errorf("%+v: Endpoint() = %q, want %q", tc, got, tc.want)
		}
	}
}

func TestDefaultSessionName(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	short, _, _ := strings.Cut(host, ".")
	vm := token.Claims{Email: "sa@p.iam.gserviceaccount.com", Google: &token.GoogleEx{ComputeEngine: &token.ComputeEngine{InstanceName: "web-1"}}}
	if got := DefaultSessionName(vm); got != "web-1" {
		t.Errorf("on Compute Engine: %q, want the instance name", got)
	}
	pod := token.Claims{Email: "sa@p.iam.gserviceaccount.com"}
	got := DefaultSessionName(pod)
	if short != "localhost" && len(short) >= 2 && got != strings.Trim(short, "-") {
		t.Errorf("off Compute Engine: %q, want the host name %q", got, short)
	}
	if DefaultSessionName(pod) != got {
		t.Error("not stable across calls")
	}
}

func TestCheck(t *testing.T) {
	base := func() Options {
		return Options{Role: "arn:aws:iam::123456789012:role/r", Duration: 3600e9, TokenOptions: TokenOptions{Audience: "a", ServiceAccount: "default", Timeout: 1e9}}
	}
	o := base()
	if err := o.Check(); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	for _, mod := range []func(*Options){
		func(o *Options) { o.Role = "" },
		func(o *Options) { o.SessionName = "a b" },
		func(o *Options) { o.Audience = " " },
		func(o *Options) { o.ServiceAccount = "../token" },
		func(o *Options) { o.Timeout = 0 },
		func(o *Options) { o.Duration = 1 },
	} {
		o := base()
		mod(&o)
		if err := o.Check(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
