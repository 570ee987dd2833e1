package login

import (
	"bytes"
	"html"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	// The OIDC tests run zitadel's example OpenID Provider (built from the module cache with
	// `go build`). These imports keep its module and everything it needs in go.mod and go.sum,
	// so `go mod tidy` does not drop them; they add nothing to the vmcp binary.
	_ "github.com/zitadel/oidc/v3/example/server/config"
	_ "github.com/zitadel/oidc/v3/example/server/exampleop"
)

// The example OP's built-in web client and user (storage.WebClient / storage.NewUserStore).
const (
	opClientID     = "web"
	opClientSecret = "secret"
	opUsername     = "test-user@localhost"
	opPassword     = "verysecure"
)

// buildOP compiles zitadel's example OP once per test run into a temporary directory.
func buildOP(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the OIDC tests build zitadel's example OP and need the go command: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "op")
	cmd := exec.Command(gobin, "build", "-o", bin, "github.com/zitadel/oidc/v3/example/server")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building zitadel's example OP: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a loopback port nobody listens on (at the moment of asking).
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// opIssuer is the example OP's issuer for port: always localhost, with a trailing slash.
func opIssuer(port string) string { return "http://localhost:" + port + "/" }

// lockedBuffer collects a child process's output; the test reads it while the process runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startOP runs the example OP on port, accepting redirectURI for its clients, and returns once
// its discovery document is served. Its output is printed only if the test fails.
func startOP(t *testing.T, bin, port, redirectURI string) {
	t.Helper()
	out := &lockedBuffer{}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT="+port, "REDIRECT_URI="+redirectURI)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting zitadel's example OP: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("zitadel example OP on port %s:\n%s", port, out.String())
		}
	})

	wellKnown := opIssuer(port) + ".well-known/openid-configuration"
	client := &http.Client{Timeout: time.Second}
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := client.Get(wellKnown); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("zitadel's example OP exited before it was ready: %v", waitErr)
		case <-deadline:
			t.Fatalf("zitadel's example OP did not serve %s within 30s", wellKnown)
		case <-tick.C:
		}
	}
}

// browser is a user agent with a cookie jar that follows redirects until they lead back to
// vmcp's public host: that request is handed to Complete instead of being sent.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T, publicURL string) *browser {
	t.Helper()
	public, err := url.Parse(publicURL)
	if err != nil {
		t.Fatal(err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, client: &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host == public.Host {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}}
}

// The example OP's login form (exampleop/templates/login.html): a hidden "id" field holding
// the auth request id, plus "username" and "password", posted to /login/username.
var opLoginID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// signIn opens authURL, fills in the OP's login form and returns the URL the OP redirects the
// browser to on vmcp's side: the callback, with code and state.
func (b *browser) signIn(authURL, username, password string) *url.URL {
	b.t.Helper()
	resp, err := b.client.Get(authURL)
	if err != nil {
		b.t.Fatalf("opening the authorization URL: %v", err)
	}
	page := readBody(b.t, resp)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("OP login page: status %d: %s", resp.StatusCode, page)
	}
	m := opLoginID.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("OP login page has no auth request id field:\n%s", page)
	}
	loginURL := resp.Request.URL.ResolveReference(&url.URL{Path: "/login/username"})
	resp, err = b.client.PostForm(loginURL.String(), url.Values{
		"id":       {html.UnescapeString(m[1])},
		"username": {username},
		"password": {password},
	})
	if err != nil {
		b.t.Fatalf("posting the OP login form: %v", err)
	}
	body := readBody(b.t, resp)
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("OP login: want a redirect back to vmcp, got status %d: %s", resp.StatusCode, body)
	}
	callback, err := resp.Location()
	if err != nil {
		b.t.Fatal(err)
	}
	return callback
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// hrefOf returns the unescaped target of the link whose text starts with text.
func hrefOf(t *testing.T, page, text string) string {
	t.Helper()
	m := regexp.MustCompile(`<a href="([^"]+)">` + regexp.QuoteMeta(text)).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page has no link %q:\n%s", text, page)
	}
	return html.UnescapeString(m[1])
}
