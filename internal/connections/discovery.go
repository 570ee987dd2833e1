package connections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Endpoints are a connector's authorization server endpoints.
type Endpoints struct {
	AuthorizationURL string
	TokenURL         string
	// RegistrationURL is the RFC 7591 registration endpoint, when discovered.
	RegistrationURL string
	// RevocationURL is the RFC 7009 revocation endpoint, when there is one.
	RevocationURL string
}

// discover finds a connector's authorization server the way an MCP client does: the connector's
// protected resource metadata (RFC 9728) names its authorization server, whose metadata
// (RFC 8414, or OpenID Connect discovery) names the endpoints.
func discover(ctx context.Context, client *http.Client, resource string) (Endpoints, error) {
	u, err := url.Parse(resource)
	if err != nil {
		return Endpoints{}, fmt.Errorf("connector URL: %w", err)
	}
	var prm struct {
		AuthorizationServers []string `json:"authorization_servers"`
	}
	// RFC 9728 §3.1: the well-known segment goes between host and path; servers that publish only
	// the root document are common enough to try too.
	var tried []string
	for _, p := range wellKnown("oauth-protected-resource", u.Path) {
		tried = append(tried, p)
		if err = getJSON(ctx, client, u.Scheme+"://"+u.Host+p, &prm); err == nil && len(prm.AuthorizationServers) > 0 {
			break
		}
	}
	if len(prm.AuthorizationServers) == 0 {
		return Endpoints{}, fmt.Errorf("no protected resource metadata naming an authorization server at %s (%v); set authorization_url and token_url", strings.Join(tried, ", "), err)
	}
	issuer, err := url.Parse(prm.AuthorizationServers[0])
	if err != nil || (issuer.Scheme != "https" && issuer.Scheme != "http") {
		return Endpoints{}, errors.New("the protected resource metadata names an authorization server that is not an http(s) URL")
	}
	var asm struct {
		Issuer                        string   `json:"issuer"`
		AuthorizationEndpoint         string   `json:"authorization_endpoint"`
		TokenEndpoint                 string   `json:"token_endpoint"`
		CodeChallengeMethodsSupported []string `json:"code_challenge_methods_supported"`
		RegistrationEndpoint          string   `json:"registration_endpoint"`
		RevocationEndpoint            string   `json:"revocation_endpoint"`
	}
	paths := append(wellKnown("oauth-authorization-server", issuer.Path), strings.TrimSuffix(issuer.Path, "/")+"/.well-known/openid-configuration")
	for _, p := range paths {
		if err = getJSON(ctx, client, issuer.Scheme+"://"+issuer.Host+p, &asm); err == nil && asm.TokenEndpoint != "" {
			break
		}
	}
	if asm.AuthorizationEndpoint == "" || asm.TokenEndpoint == "" {
		return Endpoints{}, fmt.Errorf("authorization server %s publishes no metadata with both endpoints (%v)", issuer.Redacted(), err)
	}
	// RFC 8414 §3.3: the metadata must be about the issuer it was fetched for, or a mix-up is
	// under way.
	if strings.TrimSuffix(asm.Issuer, "/") != strings.TrimSuffix(prm.AuthorizationServers[0], "/") {
		return Endpoints{}, fmt.Errorf("authorization server metadata names issuer %q, not %q", asm.Issuer, prm.AuthorizationServers[0])
	}
	return Endpoints{AuthorizationURL: asm.AuthorizationEndpoint, TokenURL: asm.TokenEndpoint, RegistrationURL: asm.RegistrationEndpoint, RevocationURL: asm.RevocationEndpoint}, nil
}

// wellKnown lists the well-known URL paths for a resource or issuer path, the path-inserted form
// first.
func wellKnown(name, path string) []string {
	path = strings.TrimSuffix(path, "/")
	if path == "" {
		return []string{"/.well-known/" + name}
	}
	return []string{"/.well-known/" + name + path, "/.well-known/" + name}
}

func getJSON(ctx context.Context, client *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}
