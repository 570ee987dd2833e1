package oauth

import (
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/vmcp-dev/vmcp/oauth/login"
)

// Another endpoint (the connect flow) signs a browser in with vmcp's own login and gets the user
// back; the state must carry its prefix, and the authorization code flow is not involved.
func TestASignInHandedOffReturnsTheUserToItsEndpoint(t *testing.T) {
	a := newAS(t)
	var got login.User
	var gotState string
	a.server.HandOff("test.", func(w http.ResponseWriter, r *http.Request, u login.User, state string) {
		got, gotState = u, state
		w.Write([]byte("handed off"))
	})
	a.mux.HandleFunc("GET /start", func(w http.ResponseWriter, r *http.Request) {
		if err := a.server.BeginLogin(w, r, "test.abc123"); err != nil {
			t.Error(err)
		}
	})
	ua := newUserAgent()
	resp, err := ua.client.Get(a.srv.URL + "/start")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(string(body), -1) {
		form.Set(m[1], m[2])
	}
	form.Set("username", "alice")
	form.Set("password", "alice")
	resp, err = ua.client.PostForm(a.srv.URL+"/oauth/login", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "handed off" || got.Subject != "dev:alice" || gotState != "test.abc123" {
		t.Fatalf("after sign-in: %q, user %+v, state %q", body, got, gotState)
	}
}

func TestAHandOffPrefixMustEndInADot(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a prefix without a dot was accepted: it could match the code flow's states")
		}
	}()
	newAS(t).server.HandOff("connect", nil)
}

func TestBeginLoginWithoutASignInMethodWritesNothing(t *testing.T) {
	s := NewServer(Options{})
	if err := s.BeginLogin(nil, nil, "test.x"); err != ErrNoLogin {
		t.Fatalf("BeginLogin on an unconfigured server = %v, want ErrNoLogin", err)
	}
}
