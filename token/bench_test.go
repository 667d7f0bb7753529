package token

import (
	"context"
	"testing"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/secret"
)

// BenchmarkMetadataToken is the in-process cost of one token fetch from a
// loopback fake, the fake's RS256 signing included.
func BenchmarkMetadataToken(b *testing.B) {
	fakeForBench(b)
	src := &MetadataSource{ServiceAccount: "default", Audience: DefaultAudience}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode is the cost of reading a token's claims.
func BenchmarkDecode(b *testing.B) {
	md := fakeForBench(b)
	tok, err := md.Mint(md.Accounts["default"], DefaultAudience, true)
	if err != nil {
		b.Fatal(err)
	}
	s := secret.New(tok)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(s); err != nil {
			b.Fatal(err)
		}
	}
}
