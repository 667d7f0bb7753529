package serve

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkCredentials is one keep-alive client fetching credentials from
// the real server over loopback; bench/servebench measures the binary.
func BenchmarkCredentials(b *testing.B) {
	srv, _ := startServer(b, Config{}, time.Hour)
	client := &http.Client{Transport: &http.Transport{}}
	req, _ := http.NewRequest("GET", srv.URL(), nil)
	req.Header.Set("Authorization", testToken)
	for b.Loop() {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
}
