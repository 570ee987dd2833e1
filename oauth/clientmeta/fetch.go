package clientmeta

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults for Options.
const (
	DefaultTimeout = 5 * time.Second
	// DefaultMaxBytes is CIMD-00 §6.6's recommended maximum response size, 5 kilobytes. Real
	// documents are well under 1 KiB.
	DefaultMaxBytes    = 5 * 1024
	DefaultMaxEntries  = 1024
	DefaultMaxInFlight = 32
)

// Options configure a Fetcher. The zero value is the production setting.
type Options struct {
	// AllowLoopback lets documents on loopback (127.0.0.0/8, ::1) be fetched, where a developer's
	// client serves its own. Every other special-use address (link-local, where cloud metadata
	// services live, and private networks) stays refused. vmcp dev mode only: CIMD-02 §8.6
	// forbids it in production.
	AllowLoopback bool
	// Timeout bounds one whole fetch: connect, TLS, headers and body. Default DefaultTimeout.
	Timeout time.Duration
	// MaxBytes bounds the document's size; a larger response is an error, not truncated.
	// Default DefaultMaxBytes.
	MaxBytes int64
	// RootCAs verifies the document servers' certificates; nil means the system roots. Tests
	// and private PKIs set it.
	RootCAs *x509.CertPool
	// MaxEntries bounds the cache. Default DefaultMaxEntries.
	MaxEntries int
	// MaxInFlight bounds how many distinct URLs are fetched at once; a fetch beyond it fails at
	// once. Default DefaultMaxInFlight.
	MaxInFlight int
}

// Fetcher fetches, validates and caches Client ID Metadata Documents. It is safe for concurrent
// use; make one per authorization server and Close it when done.
type Fetcher struct {
	client     *http.Client
	transport  *http.Transport
	timeout    time.Duration
	maxBytes   int64
	maxEntries int
	slots      chan struct{}

	base   context.Context // parent of every fetch; cancelled by Close
	cancel context.CancelFunc

	mu      sync.Mutex
	cache   map[string]cacheEntry
	flights map[string]*flight

	// Test hooks: the clock, and a call when a Fetch joins a fetch already under way.
	now    func() time.Time
	onJoin func()
}

var errTooBusy = errors.New("too many client metadata documents being fetched at once")

// NewFetcher returns a Fetcher with opts, defaults filled in.
func NewFetcher(opts Options) *Fetcher {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	dialer := &net.Dialer{
		Timeout: opts.Timeout,
		Control: dialControl(opts.AllowLoopback),
	}
	transport := &http.Transport{
		// No proxy, ever: through a proxy the dial check would vet the proxy's address, and the
		// proxy would connect to whatever the URL names. (The default transport reads
		// HTTPS_PROXY from the environment.)
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    opts.Timeout,
		ResponseHeaderTimeout:  opts.Timeout,
		MaxResponseHeaderBytes: 16 << 10,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           16,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        30 * time.Second,
	}
	base, cancel := context.WithCancel(context.Background())
	return &Fetcher{
		client: &http.Client{
			// No Client.Timeout: the fetch's context carries the one deadline, so a body cut
			// short by it is always recognised as a timeout (see fetch).
			Transport: transport,
			// CIMD-02 §5: the authorization server MUST NOT automatically follow redirects. A
			// 3xx therefore comes back as the response, and fails the status check. (Following
			// one would also fetch a document whose URL is not its client_id, which CIMD-00
			// §4.1 forbids anyway, and would need the SSRF check to hold for every hop.)
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		transport:  transport,
		timeout:    opts.Timeout,
		maxBytes:   opts.MaxBytes,
		maxEntries: opts.MaxEntries,
		slots:      make(chan struct{}, opts.MaxInFlight),
		base:       base,
		cancel:     cancel,
		cache:      make(map[string]cacheEntry),
		flights:    make(map[string]*flight),
		now:        time.Now,
	}
}

// Close stops fetches under way and releases idle connections. Fetch fails after Close.
func (f *Fetcher) Close() {
	f.cancel()
	f.transport.CloseIdleConnections()
}

// Fetch returns the validated metadata document for a URL client_id, from the cache when it is
// fresh. The returned Document is the caller's to keep or modify. Errors match ErrInvalidClientID,
// ErrFetch (with ErrForbiddenAddress for a refused address) or ErrInvalidDocument.
func (f *Fetcher) Fetch(ctx context.Context, clientID string) (*Document, error) {
	if err := ValidateClientID(clientID); err != nil {
		return nil, err
	}
	if err := f.base.Err(); err != nil {
		return nil, fmt.Errorf("client metadata %s: %w: fetcher closed", clientID, ErrFetch)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("client metadata %s: %w: %w", clientID, ErrFetch, err)
	}
	doc, fl, err := f.join(clientID)
	if err != nil {
		return nil, fmt.Errorf("client metadata %s: %w: %w", clientID, ErrFetch, err)
	}
	if fl != nil {
		if doc, err = fl.wait(ctx); err != nil {
			if errors.Is(err, ErrFetch) || errors.Is(err, ErrInvalidDocument) {
				return nil, err
			}
			return nil, fmt.Errorf("client metadata %s: %w: %w", clientID, ErrFetch, err)
		}
	}
	return doc.clone(), nil
}

// fetch performs one request and validates the answer. It returns the document and how long it
// may be cached. clientID has passed ValidateClientID.
func (f *Fetcher) fetch(ctx context.Context, clientID string) (*Document, time.Duration, error) {
	fail := func(err error) (*Document, time.Duration, error) {
		return nil, 0, fmt.Errorf("client metadata %s: %w: %w", clientID, ErrFetch, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientID, nil)
	if err != nil {
		return fail(reason("cannot build request"))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "vmcp-clientmeta/1")
	resp, err := f.client.Do(req)
	if err != nil {
		return fail(transportError(err, f.timeout))
	}
	defer resp.Body.Close()

	// CIMD-02 §4 and §5: the document MUST be served with 200 OK; every other status is an error.
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			return fail(reason(fmt.Sprintf("answered with a redirect (status %d), which is not followed", resp.StatusCode)))
		}
		return fail(reason(fmt.Sprintf("answered with status %d, not 200", resp.StatusCode)))
	}
	if err := checkContentType(resp.Header.Get("Content-Type")); err != nil {
		return fail(err)
	}
	// CIMD-00 §6.6 / CIMD-02 §8.7: limit what is read, and treat reaching the limit as an error.
	// A declared length over the limit fails before reading; otherwise read one byte past it to
	// tell "exactly the limit" from "more". Compressed bodies are counted after decompression.
	tooBig := reason(fmt.Sprintf("document is larger than %d bytes", f.maxBytes))
	if resp.ContentLength > f.maxBytes {
		return fail(tooBig)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes+1))
	if err == nil {
		// When the deadline tears the connection down mid-body, the reader can report a clean
		// end of a truncated body; the context says what really happened.
		err = ctx.Err()
	}
	if err != nil {
		return fail(transportError(err, f.timeout))
	}
	if int64(len(body)) > f.maxBytes {
		return fail(tooBig)
	}
	doc, err := ParseDocument(clientID, body)
	if err != nil {
		return nil, 0, err
	}
	return doc, cacheTTL(resp.Header, f.now()), nil
}

// checkContentType: CIMD-00 §4.1 allows application/json or a more specific
// application/<AS-defined>+json. A charset, if given, must be UTF-8 (RFC 8259 §8.1).
func checkContentType(ct string) error {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return reason("content type is missing or malformed; want application/json")
	}
	if mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return reason("content type is not JSON; want application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return reason("charset is not UTF-8")
	}
	return nil
}

// transportError strips net/http's "Get <url>:" wrapper (the caller already names the URL) and
// says "timed out" plainly.
func transportError(err error, timeout time.Duration) error {
	if !errors.Is(err, ErrForbiddenAddress) && (errors.Is(err, context.DeadlineExceeded) || isTimeout(err)) {
		return fmt.Errorf("timed out after %s: %w", timeout, context.DeadlineExceeded)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
