package clientmeta

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// docServer is a real HTTPS server on loopback that counts the requests it answers.
type docServer struct {
	srv  *httptest.Server
	hits atomic.Int64
	pool *x509.CertPool
}

func newDocServer(t *testing.T, h http.HandlerFunc) *docServer {
	t.Helper()
	s := &docServer{}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.srv.Close)
	s.pool = x509.NewCertPool()
	s.pool.AddCert(s.srv.Certificate())
	return s
}

// url is the client_id for path on s: https://127.0.0.1:PORT/path.
func (s *docServer) url(path string) string { return s.srv.URL + path }

// fetcher returns a Fetcher that trusts s's certificate. Dev mode (AllowLoopback) is on unless
// opts says otherwise through prod; the server is on loopback.
func (s *docServer) fetcher(t *testing.T, opts Options) *Fetcher {
	t.Helper()
	opts.RootCAs = s.pool
	f := NewFetcher(opts)
	t.Cleanup(f.Close)
	return f
}

// validBody is a valid document for the URL the request was made to.
func validBody(r *http.Request) string {
	return fmt.Sprintf(`{"client_id":"https://%s%s","client_name":"Test client","redirect_uris":["http://127.0.0.1:8976/callback","https://app.example.com/cb"],"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none"}`, r.Host, r.URL.Path)
}

func serveValid(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, validBody(r))
}

func TestFetchReturnsTheValidatedDocument(t *testing.T) {
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.Header.Get("Accept") != "application/json" {
			http.Error(w, "bad request", 400)
			return
		}
		serveValid(w, r)
	})
	f := s.fetcher(t, Options{AllowLoopback: true})
	id := s.url("/oauth/client.json")
	d, err := f.Fetch(context.Background(), id)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if d.ClientID != id || d.ClientName != "Test client" || len(d.RedirectURIs) != 2 || d.TokenEndpointAuthMethod != "none" {
		t.Fatalf("document: %+v", d)
	}
	if n := s.hits.Load(); n != 1 {
		t.Fatalf("server hit %d times, want 1", n)
	}
}

func TestWithoutDevModeALoopbackTargetIsRefusedAtDialTime(t *testing.T) {
	s := newDocServer(t, serveValid)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			f := s.fetcher(t, Options{AllowLoopback: false})
			_, port, _ := net.SplitHostPort(s.srv.Listener.Addr().String())
			_, err := f.Fetch(context.Background(), "https://"+net.JoinHostPort(host, port)+"/client.json")
			if !errors.Is(err, ErrForbiddenAddress) || !errors.Is(err, ErrFetch) {
				t.Fatalf("Fetch = %v, want ErrForbiddenAddress and ErrFetch", err)
			}
			// The refusal comes from the dialer (net.Dialer.Control on the resolved address),
			// not from a look-up made beforehand: it is a *net.OpError for "dial".
			var op *net.OpError
			if !errors.As(err, &op) || op.Op != "dial" {
				t.Fatalf("refusal %v is not a dial error", err)
			}
			if !strings.Contains(err.Error(), "loopback") {
				t.Errorf("error %q does not say why", err)
			}
			if n := s.hits.Load(); n != 0 {
				t.Fatalf("server was hit %d times", n)
			}
		})
	}
}

func TestFetchRefusesClientIDsBeforeConnecting(t *testing.T) {
	s := newDocServer(t, serveValid)
	f := s.fetcher(t, Options{AllowLoopback: true})
	for _, id := range []string{
		"http" + strings.TrimPrefix(s.url("/client.json"), "https"), // plain http
		s.url("/"),
		s.url("/client.json?x=1"),
		s.url("/client.json#frag"),
		s.url("/a/../client.json"),
		"https://user:pw@" + strings.TrimPrefix(s.url("/client.json"), "https://"),
	} {
		if _, err := f.Fetch(context.Background(), id); !errors.Is(err, ErrInvalidClientID) {
			t.Errorf("Fetch(%q) = %v, want ErrInvalidClientID", id, err)
		}
	}
	if n := s.hits.Load(); n != 0 {
		t.Fatalf("server was hit %d times", n)
	}
}

func TestFetchRefusesBadResponses(t *testing.T) {
	const max = 2048
	big := strings.Repeat(" ", max) // white space is valid JSON padding: only the size is wrong
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		class   error
		want    string
	}{
		{"a 404", func(w http.ResponseWriter, r *http.Request) { http.Error(w, bodyMarker, 404) }, ErrFetch, "status 404"},
		{"a 500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, bodyMarker, 500) }, ErrFetch, "status 500"},
		{"a 203 with a valid body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(203)
			fmt.Fprint(w, validBody(r))
		}, ErrFetch, "status 203"},
		{"an HTML page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, validBody(r))
		}, ErrFetch, "not JSON"},
		{"no content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil // stop net/http from sniffing one
			fmt.Fprint(w, validBody(r))
		}, ErrFetch, "content type is missing"},
		{"a non-UTF-8 charset", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=iso-8859-1")
			fmt.Fprint(w, validBody(r))
		}, ErrFetch, "UTF-8"},
		{"a body over the limit with a Content-Length", func(w http.ResponseWriter, r *http.Request) {
			body := validBody(r) + big
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			fmt.Fprint(w, body)
		}, ErrFetch, "larger than 2048 bytes"},
		{"a body over the limit sent chunked", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, validBody(r))
			w.(http.Flusher).Flush() // headers go out without a length
			fmt.Fprint(w, big)
		}, ErrFetch, "larger than 2048 bytes"},
		{"a client_id for another document", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, strings.Replace(validBody(r), r.URL.Path, "/"+bodyMarker, 1))
		}, ErrInvalidDocument, "does not match"},
		{"a public http redirect URI", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, strings.Replace(validBody(r), "https://app.example.com/cb", "http://"+bodyMarker+".example/cb", 1))
		}, ErrInvalidDocument, "redirect_uris[1] must use https"},
		{"a client secret", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, strings.Replace(validBody(r), `{`, `{"client_secret":"`+bodyMarker+`",`, 1))
		}, ErrInvalidDocument, "client_secret must not be present"},
		{"a duplicate client_id", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, strings.Replace(validBody(r), `{`, `{"client_id":"https://`+bodyMarker+`.example/x",`, 1))
		}, ErrInvalidDocument, "duplicate key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newDocServer(t, tc.handler)
			f := s.fetcher(t, Options{AllowLoopback: true, MaxBytes: max})
			d, err := f.Fetch(context.Background(), s.url("/client.json"))
			if !errors.Is(err, tc.class) {
				t.Fatalf("Fetch = %+v, %v; want %v", d, err, tc.class)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), bodyMarker) {
				t.Errorf("error %q quotes the response", err)
			}
		})
	}
}

func TestABodyOfExactlyTheLimitIsAccepted(t *testing.T) {
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		body := validBody(r)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body+strings.Repeat(" ", 1024-len(body)))
	})
	f := s.fetcher(t, Options{AllowLoopback: true, MaxBytes: 1024})
	if _, err := f.Fetch(context.Background(), s.url("/client.json")); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
}

func TestFetchAcceptsAMoreSpecificJSONType(t *testing.T) {
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/oauth-client-metadata+json; charset=UTF-8")
		fmt.Fprint(w, validBody(r))
	})
	f := s.fetcher(t, Options{AllowLoopback: true})
	if _, err := f.Fetch(context.Background(), s.url("/client.json")); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var followed atomic.Bool
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved.json" {
			followed.Store(true)
			serveValid(w, r)
			return
		}
		http.Redirect(w, r, "/moved.json", http.StatusFound)
	})
	f := s.fetcher(t, Options{AllowLoopback: true})
	for _, code := range []int{301, 302, 307, 308} {
		_, err := f.Fetch(context.Background(), s.url(fmt.Sprintf("/client-%d.json", code)))
		if !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "redirect") {
			t.Fatalf("Fetch = %v, want a refused redirect", err)
		}
	}
	if followed.Load() {
		t.Fatal("the redirect target was requested")
	}
}

func TestASlowServerTimesOut(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"no headers", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
		{"headers but a stalled body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"client_id":`)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The handler returns when the fetcher hangs up, so the server closes cleanly.
			s := newDocServer(t, tc.handler)
			f := s.fetcher(t, Options{AllowLoopback: true, Timeout: 150 * time.Millisecond})
			start := time.Now()
			_, err := f.Fetch(context.Background(), s.url("/client.json"))
			if !errors.Is(err, ErrFetch) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out") {
				t.Fatalf("Fetch = %v, want a timeout", err)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Fatalf("timeout took %v", el)
			}
		})
	}
}

// fakeClock is a settable clock for cache expiry.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestDocumentsAreCachedUntilMaxAge(t *testing.T) {
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=120")
		serveValid(w, r)
	})
	f := s.fetcher(t, Options{AllowLoopback: true})
	var clock fakeClock
	clock.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	f.now = clock.now
	id := s.url("/client.json")
	for _, step := range []struct {
		advance time.Duration
		hits    int64
	}{
		{0, 1},
		{0, 1},
		{119 * time.Second, 1},
		{time.Second, 2}, // 120 s: expired
		{60 * time.Second, 2},
	} {
		clock.advance(step.advance)
		if _, err := f.Fetch(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if n := s.hits.Load(); n != step.hits {
			t.Fatalf("after +%v: %d server hits, want %d", step.advance, n, step.hits)
		}
	}
	// Another URL on the same server is another client: its own entry.
	if _, err := f.Fetch(context.Background(), s.url("/other.json")); err != nil {
		t.Fatal(err)
	}
	if n := s.hits.Load(); n != 3 {
		t.Fatalf("a second client_id was served from the first one's entry (%d hits)", n)
	}
}

func TestFailuresAreNotCached(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.Header().Set("Cache-Control", "max-age=3600")
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		serveValid(w, r)
	})
	f := s.fetcher(t, Options{AllowLoopback: true})
	id := s.url("/client.json")
	if _, err := f.Fetch(context.Background(), id); !errors.Is(err, ErrFetch) {
		t.Fatalf("first Fetch = %v, want ErrFetch", err)
	}
	fail.Store(false)
	if _, err := f.Fetch(context.Background(), id); err != nil {
		t.Fatalf("second Fetch = %v: the failure was cached", err)
	}
	if n := s.hits.Load(); n != 2 {
		t.Fatalf("%d server hits, want 2", n)
	}
}

func TestInvalidDocumentsAreNotCached(t *testing.T) {
	var valid atomic.Bool
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=3600")
		if valid.Load() {
			fmt.Fprint(w, validBody(r))
			return
		}
		fmt.Fprint(w, `{"client_id":"https://elsewhere.example/x","client_name":"x","redirect_uris":["https://a.example/cb"]}`)
	})
	f := s.fetcher(t, Options{AllowLoopback: true})
	id := s.url("/client.json")
	if _, err := f.Fetch(context.Background(), id); !errors.Is(err, ErrInvalidDocument) {
		t.Fatalf("first Fetch = %v, want ErrInvalidDocument", err)
	}
	valid.Store(true)
	if _, err := f.Fetch(context.Background(), id); err != nil {
		t.Fatalf("second Fetch = %v: the invalid document was cached", err)
	}
}

func TestCallersCannotAlterTheCachedDocument(t *testing.T) {
	s := newDocServer(t, serveValid)
	f := s.fetcher(t, Options{AllowLoopback: true})
	id := s.url("/client.json")
	d, err := f.Fetch(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	d.RedirectURIs[0] = "https://evil.example/cb"
	d.ClientName = "Evil"
	again, err := f.Fetch(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if again.RedirectURIs[0] != "http://127.0.0.1:8976/callback" || again.ClientName != "Test client" {
		t.Fatalf("cached document was changed through a returned copy: %+v", again)
	}
}

func TestConcurrentFetchesOfOneURLShareOneRequest(t *testing.T) {
	const n = 20
	started := make(chan struct{})
	release := make(chan struct{})
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		close(started) // a second request would panic here
		<-release
		serveValid(w, r)
	})
	f := s.fetcher(t, Options{AllowLoopback: true})
	var joined sync.WaitGroup
	joined.Add(n - 1)
	f.onJoin = joined.Done
	id := s.url("/client.json")

	// One extra caller gives up early: its cancellation must not fail the others.
	quitter, quit := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if i == 0 {
				ctx = quitter
			}
			_, errs[i] = f.Fetch(ctx, id)
		}()
	}
	<-started
	joined.Wait() // every caller is now waiting on the one request
	quit()
	close(release)
	wg.Wait()
	if got := s.hits.Load(); got != 1 {
		t.Fatalf("%d server hits for %d concurrent fetches, want 1", got, n)
	}
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			if !errors.Is(err, context.Canceled) {
				t.Errorf("caller %d: %v", i, err)
			}
		}
	}
	if failed > 1 {
		t.Fatalf("%d callers failed; only the one that gave up may", failed)
	}
}

func TestTooManyDistinctFetchesAtOnceAreRefused(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		serveValid(w, r)
	})
	f := s.fetcher(t, Options{AllowLoopback: true, MaxInFlight: 1})
	first := make(chan error, 1)
	go func() {
		_, err := f.Fetch(context.Background(), s.url("/a.json"))
		first <- err
	}()
	<-started
	if _, err := f.Fetch(context.Background(), s.url("/b.json")); !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "at once") {
		t.Fatalf("second Fetch = %v, want a refusal", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first Fetch: %v", err)
	}
	// The slot is free again.
	if _, err := f.Fetch(context.Background(), s.url("/b.json")); err != nil {
		t.Fatalf("Fetch after the first finished: %v", err)
	}
}

func TestFetchFailsAfterClose(t *testing.T) {
	s := newDocServer(t, serveValid)
	f := s.fetcher(t, Options{AllowLoopback: true})
	f.Close()
	if _, err := f.Fetch(context.Background(), s.url("/client.json")); !errors.Is(err, ErrFetch) {
		t.Fatalf("Fetch after Close = %v, want ErrFetch", err)
	}
}
