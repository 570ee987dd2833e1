package envoynames

import (
	"slices"
	"strings"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/headers"
)

// RouteMetadata is the dynamic metadata namespace in which extproc gives a connector's plain
// route the values of the headers it manages (PlainRouteHeaders).
const RouteMetadata = "vmcp.route"

// PlainRouteHeaders are the request headers extproc decides on a connector's plain route (the
// route a tools/call takes when authz hinted its connector; extproc then sees its body only).
// With the headers message skipped, extproc cannot change headers itself — Envoy drops header
// mutations in the answer to a body it was sent without its headers — so extproc gives their
// values as dynamic metadata and the route sets them. The route removes each first, so nothing
// the client sent under these names reaches the connector unless extproc says so. nil means the
// connector cannot take a plain route: its credential goes in the URL, which a route cannot set
// from metadata.
func PlainRouteHeaders(c *config.Connector) []string {
	names := []string{headers.Authorization, headers.SessionID, headers.ProtocolVersion, headers.Method, headers.Name, "content-length"}
	switch c.Credential.Type {
	case config.CredentialQuery:
		return nil
	case config.CredentialHeader:
		if h := strings.ToLower(c.Credential.Header); h != "" && !slices.Contains(names, h) {
			names = append(names, h)
		}
	}
	return names
}
