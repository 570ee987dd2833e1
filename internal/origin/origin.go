// Package origin decides which browser origins may call a virtual server.
package origin

import (
	"net"
	"net/url"
	"slices"
	"strings"
)

// Policy decides which browser origins may call a virtual server. MCP (2025-11-25) has servers
// refuse a request whose Origin they do not trust with 403: a web page's script, its name made
// to resolve to the gateway (DNS rebinding), must not reach the tools. Clients that are not
// browsers send no Origin and are not affected.
type Policy struct {
	allowed []string // scheme://host[:port], lower case
	// loopback is set when vmcp itself is served on a loopback address (development): every
	// loopback origin is then as local as vmcp, while a rebound name still is not.
	loopback bool
}

// New allows publicURL's own origin and the extra ones (scheme://host[:port]); when publicURL is
// on a loopback address, every loopback origin too.
func New(publicURL string, extra []string) Policy {
	o := Policy{}
	for _, s := range append([]string{publicURL}, extra...) {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			o.allowed = append(o.allowed, strings.ToLower(u.Scheme+"://"+u.Host))
			if s == publicURL {
				o.loopback = isLoopback(u.Hostname())
			}
		}
	}
	return o
}

// Allow says whether a request with this Origin header ("" when absent) may go on.
func (o Policy) Allow(origin string) bool {
	if origin == "" {
		return true
	}
	origin = strings.ToLower(strings.TrimSuffix(origin, "/"))
	if slices.Contains(o.allowed, origin) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && o.loopback && isLoopback(u.Hostname())
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
