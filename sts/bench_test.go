package sts

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/fakes"
	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// BenchmarkExchange is the in-process cost of one AssumeRoleWithWebIdentity
// against a loopback fake STS that verifies the token's signature.
func BenchmarkExchange(b *testing.B) {
	md, err := fakes.NewMetadata()
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(fakes.NewSTS(&md.Key.PublicKey))
	defer srv.Close()
	c, err := New(Config{Endpoint: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	raw, err := md.Mint(md.Accounts["default"], "sts.amazonaws.com", true)
	if err != nil {
		b.Fatal(err)
	}
	tok := secret.New(raw)
	req := Request{RoleARN: role, SessionName: "bench", Duration: time.Hour}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Exchange(ctx, tok, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNew is the cost of resolving the endpoint and building the client,
// paid once per run before any request.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(Config{Region: "ap-northeast-1"}); err != nil {
			b.Fatal(err)
		}
	}
}
