package extproc

import (
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/vmcp-dev/vmcp/internal/headers"
)

// withoutUnforwarded adds to remove the request's headers that must not reach a connector: those
// not on the allow-list and not set by vmcp in this same mutation. Pseudo-headers (:path,
// :authority) and x-envoy-* are Envoy's own, which ext_proc's default mutation rules do not let
// it change. Internal x-vmcp-* headers are removed by the connector routes, after routing has
// used them.
//
// set and remove hold a handful of names, so they are searched, not indexed: this runs on every
// routed call.
func withoutUnforwarded(req []*corev3.HeaderValue, set []*corev3.HeaderValueOption, remove []string) []string {
	for _, h := range req {
		k := strings.ToLower(h.GetKey())
		if !headers.Unforwarded(k) || slices.ContainsFunc(set, func(s *corev3.HeaderValueOption) bool { return strings.EqualFold(s.GetHeader().GetKey(), k) }) ||
			slices.ContainsFunc(remove, func(r string) bool { return strings.EqualFold(r, k) }) {
			continue
		}
		remove = append(remove, k)
	}
	return remove
}
