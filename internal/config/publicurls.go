package config

import (
	"net"
	"net/url"
	"strings"
)

// PublicURLs lists every base URL (scheme://host[:port]) clients may reach this deployment's
// edge on: server.public_url first, the canonical one, then server.public_url_aliases, then —
// when public_url is on a loopback address, as in `vmcp dev` — the other spellings of loopback
// the edge listener serves. RFC 9728 §3.3 has a client refuse metadata whose resource differs
// from the URL it used, so every spelling a client may use must be known here.
func (c *Config) PublicURLs() []string {
	canonical := strings.TrimSuffix(c.Server.PublicURL, "/")
	out := []string{canonical}
	add := func(u string) {
		u = strings.TrimSuffix(u, "/")
		for _, have := range out {
			if strings.EqualFold(have, u) {
				return
			}
		}
		out = append(out, u)
	}
	for _, a := range c.Server.PublicURLAliases {
		add(a)
	}
	for _, twin := range loopbackTwins(canonical, c.Server.Envoy.Edge) {
		add(twin)
	}
	return out
}

// Issuers lists the issuer identifiers of vmcp's own authorization server: one per public URL
// when auth.issuer is the public URL (the default), since RFC 8414 §3.3 has a client check that
// the issuer equals the URL it fetched the metadata from; otherwise auth.issuer alone.
func (c *Config) Issuers() []string {
	issuer := strings.TrimSuffix(c.Auth.Issuer, "/")
	if issuer != strings.TrimSuffix(c.Server.PublicURL, "/") {
		return []string{issuer}
	}
	return c.PublicURLs()
}

// loopbackTwins returns the other loopback spellings of base (http://127.0.0.1:8080 →
// http://localhost:8080, and http://[::1]:8080 when the edge listens on IPv6 too). Only the
// spellings that reach the edge listener are returned: localhost always does (the resolver
// offers both address families and clients fall back between them).
func loopbackTwins(base, edge string) []string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || !isLoopbackHost(strings.ToLower(u.Hostname())) {
		return nil
	}
	edgeHost, _, _ := net.SplitHostPort(edge)
	serves4, serves6 := true, false
	if ip := net.ParseIP(edgeHost); ip != nil {
		serves4 = ip.To4() != nil || ip.IsUnspecified()
		serves6 = ip.To4() == nil
	}
	port := u.Port()
	hostPort := func(h string) string {
		if port == "" {
			return h
		}
		return net.JoinHostPort(h, port)
	}
	var out []string
	for _, h := range []struct {
		name string
		ok   bool
	}{{"127.0.0.1", serves4}, {"localhost", true}, {"::1", serves6}} {
		if !h.ok || strings.EqualFold(h.name, u.Hostname()) {
			continue
		}
		out = append(out, u.Scheme+"://"+hostPort(h.name))
	}
	return out
}
