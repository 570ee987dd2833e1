package edgeclient

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitChallengedWaitsForTheChallengeOrTheProcess(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the readiness probe sent credentials")
		}
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable) // Envoy up, routes not yet
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	if err := WaitChallenged(srv.URL, 10*time.Second, nil); err != nil || calls.Load() != 3 {
		t.Fatalf("WaitChallenged = %v after %d probes, want ready at the third", err, calls.Load())
	}

	exited := make(chan struct{})
	close(exited)
	if err := WaitChallenged(srv.URL, 10*time.Second, exited); !errors.Is(err, ErrExited) {
		t.Fatalf("with the process gone: %v, want ErrExited", err)
	}
	never := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) }))
	defer never.Close()
	if err := WaitChallenged(never.URL, 50*time.Millisecond, nil); err == nil {
		t.Fatal("an edge that never challenges was taken as ready")
	}
}

func TestBearerAddsTheTokenWithoutTouchingTheCallersRequest(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Get("Authorization") }))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := (&http.Client{Transport: Bearer{Token: "t0k", Base: http.DefaultTransport}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != "Bearer t0k" || req.Header.Get("Authorization") != "" {
		t.Fatalf("server saw %q; caller's request now has %q", got, req.Header.Get("Authorization"))
	}
}
