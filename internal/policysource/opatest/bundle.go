// Package opatest builds OPA bundles with OPA's own bundle writer and serves them like a
// bundle service (ETag, 304 Not Modified), and collects decision logs like a decision-log
// service, for tests of vmcp's policy sources.
package opatest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// Key is an RSA key pair for signing bundles.
type Key struct {
	private   *rsa.PrivateKey
	PublicPEM []byte
}

// NewKey makes a 2048-bit RSA key.
func NewKey(t testing.TB) *Key {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{private: k, PublicPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
}

func (k *Key) privatePEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.private)}))
}

// Bundle is what goes into one bundle.
type Bundle struct {
	Revision string
	// Modules maps a path ("vmcp/authz.rego") to Rego source.
	Modules map[string]string
	Data    map[string]any
}

// Build writes b as a .tar.gz with OPA's bundle writer, signed with key (keyID "vmcp") when key
// is not nil.
func Build(t testing.TB, b Bundle, key *Key) []byte {
	t.Helper()
	ob := assemble(b)
	if key != nil {
		if err := ob.GenerateSignature(bundle.NewSigningConfig(key.privatePEM(), "RS256", ""), "vmcp", false); err != nil {
			t.Fatal(err)
		}
	}
	return write(t, ob)
}

// Tampered builds b but carries the signature of signedAs: what an attacker who changed a
// signed bundle's policies in transit or at rest would serve.
func Tampered(t testing.TB, b, signedAs Bundle, key *Key) []byte {
	t.Helper()
	good := assemble(signedAs)
	if err := good.GenerateSignature(bundle.NewSigningConfig(key.privatePEM(), "RS256", ""), "vmcp", false); err != nil {
		t.Fatal(err)
	}
	bad := assemble(b)
	bad.Signatures = good.Signatures
	return write(t, bad)
}

func assemble(b Bundle) bundle.Bundle {
	roots := []string{""}
	ob := bundle.Bundle{
		Manifest: bundle.Manifest{Revision: b.Revision, Roots: &roots},
		Data:     b.Data,
	}
	if ob.Data == nil {
		ob.Data = map[string]any{}
	}
	paths := make([]string, 0, len(b.Modules))
	for p := range b.Modules {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		ob.Modules = append(ob.Modules, bundle.ModuleFile{URL: "/" + p, Path: "/" + p, Raw: []byte(b.Modules[p])})
	}
	return ob
}

func write(t testing.TB, b bundle.Bundle) []byte {
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).DisableFormat(true).Write(b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Server is a bundle service: it serves the current bundle at any path with an ETag and answers
// a matching If-None-Match with 304, as OPA's bundle plugin expects.
type Server struct {
	*httptest.Server
	mu          sync.Mutex
	body        []byte
	etag        string
	NotModified atomic.Int64
	Served      atomic.Int64
}

// NewServer starts a bundle service on loopback serving body.
func NewServer(t testing.TB, body []byte) *Server {
	s := &Server{}
	s.Set(body)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Set replaces the bundle served.
func (s *Server) Set(body []byte) {
	sum := sha256.Sum256(body)
	s.mu.Lock()
	s.body, s.etag = body, `"`+hex.EncodeToString(sum[:8])+`"`
	s.mu.Unlock()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body, etag := s.body, s.etag
	s.mu.Unlock()
	if r.Header.Get("If-None-Match") == etag {
		s.NotModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.Served.Add(1)
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/gzip")
	w.Write(body)
}
