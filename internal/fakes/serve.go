package fakes

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"time"
)

// Servers are a fake metadata server and a fake STS listening on loopback,
// wired so the STS checks tokens against the metadata server's key.
type Servers struct {
	Metadata *Metadata
	STS      *STS
	// MetadataHost is host:port, the form GCE_METADATA_HOST takes.
	MetadataHost string
	// STSURL is the endpoint URL, the form AWS_ENDPOINT_URL_STS takes.
	STSURL string

	servers []*http.Server
	tls     *httptest.Server
}

// StartSTSTLS serves the same fake STS over HTTPS as well, with a
// certificate for 127.0.0.1 from a CA nobody trusts, and returns its URL and
// that CA in PEM, for TLS failure and AWS_CA_BUNDLE tests.
func (s *Servers) StartSTSTLS() (url string, caPEM []byte) {
	if s.tls == nil {
		s.tls = httptest.NewUnstartedServer(s.STS)
		// A refused certificate is the point of this server; don't log it.
		s.tls.Config.ErrorLog = log.New(io.Discard, "", 0)
		s.tls.StartTLS()
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.tls.Certificate().Raw})
	return s.tls.URL, ca
}

// Start listens on two free loopback ports and serves until Close.
func Start() (*Servers, error) {
	md, err := NewMetadata()
	if err != nil {
		return nil, err
	}
	s := &Servers{Metadata: md, STS: NewSTS(&md.Key.PublicKey)}
	mdAddr, err := s.serve(md)
	if err != nil {
		return nil, err
	}
	stsAddr, err := s.serve(s.STS)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.MetadataHost, s.STSURL = mdAddr, "http://"+stsAddr
	return s, nil
}

func (s *Servers) serve(h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(l) }()
	return l.Addr().String(), nil
}

// Env is the environment that points gcp-aws-cred at these servers.
func (s *Servers) Env() []string {
	return []string{"GCE_METADATA_HOST=" + s.MetadataHost, "AWS_ENDPOINT_URL_STS=" + s.STSURL}
}

// StopMetadata stops the metadata server alone, as when the workload is not
// on Google Cloud after all.
func (s *Servers) StopMetadata() {
	_ = s.servers[0].Close()
}

// Close stops both servers.
func (s *Servers) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, srv := range s.servers {
		_ = srv.Shutdown(ctx)
	}
	if s.tls != nil {
		s.tls.Close()
	}
}
