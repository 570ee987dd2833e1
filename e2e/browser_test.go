package e2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// browser is a scripted user agent for sign-in flows: it follows redirects, keeps cookies,
// fills and submits login and consent forms, and stops when it is sent to the client's
// redirect URI (which a real browser would hand to the native app).
type browser struct {
	client      *http.Client
	username    string
	password    string
	consent     string // "allow" or "deny"
	stopAt      string // prefix of the client's redirect URI
	pagesSeen   []string
	lastPageRaw string
}

func newBrowser(username, password, stopAt string) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{username: username, password: password, consent: "allow", stopAt: stopAt}
	b.client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), b.stopAt) || len(via) > 20 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

// run opens start and acts on every page until the client's redirect URI is reached; it
// returns that URI's query.
func (b *browser) run(start string) (url.Values, error) {
	resp, err := b.client.Get(start)
	for step := 0; step < 10; step++ {
		if err != nil {
			return nil, err
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && strings.HasPrefix(loc, b.stopAt) {
			resp.Body.Close()
			u, err := url.Parse(loc)
			if err != nil {
				return nil, err
			}
			return u.Query(), nil
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		b.lastPageRaw = string(body)
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("HTTP %d at %s: %s", resp.StatusCode, resp.Request.URL, strings.TrimSpace(string(body)))
		}
		form, ferr := findForm(body)
		if ferr != nil {
			return nil, fmt.Errorf("page at %s has no form to act on: %v", resp.Request.URL, ferr)
		}
		b.pagesSeen = append(b.pagesSeen, resp.Request.URL.Path)
		values := form.values
		if _, ok := values["username"]; ok {
			values.Set("username", b.username)
			values.Set("password", b.password)
		}
		if form.decisions {
			values.Set("decision", b.consent)
		}
		action, perr := resp.Request.URL.Parse(form.action)
		if perr != nil {
			return nil, perr
		}
		// The form's answer is checked at the top of the next step.
		resp, err = b.client.PostForm(action.String(), values)
	}
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return nil, errors.New("sign-in did not reach the client's redirect URI within 10 pages")
}

type htmlForm struct {
	action    string
	values    url.Values
	decisions bool // has decision buttons (a consent page)
}

// findForm is the page's first form.
func findForm(body []byte) (*htmlForm, error) {
	forms, err := findForms(body)
	if err != nil {
		return nil, err
	}
	return forms[0], nil
}

// findForms is every form on the page, in order.
func findForms(body []byte) ([]*htmlForm, error) {
	doc, err := html.Parse(strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	var forms []*htmlForm
	var form *htmlForm
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := func(k string) string {
				for _, a := range n.Attr {
					if a.Key == k {
						return a.Val
					}
				}
				return ""
			}
			switch n.Data {
			case "form":
				form = &htmlForm{action: attr("action"), values: url.Values{}}
				forms = append(forms, form)
			case "input":
				if form != nil && attr("name") != "" && attr("type") != "submit" {
					form.values.Set(attr("name"), attr("value"))
				}
			case "button":
				if form != nil && attr("name") == "decision" {
					form.decisions = true
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if len(forms) == 0 {
		return nil, errors.New("no <form>")
	}
	return forms, nil
}
