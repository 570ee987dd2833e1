package extproc

import (
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/vmcp-dev/vmcp/internal/headers"
)

// withoutUnforwarded adds to remove the request's headers that must not reach a connector: those
// not on the allow-list and not set by vmcp in this same mutation. Pseudo-headers (:path,
// :authority) and x-envoy-* are Envoy's own, which ext_proc's default mutation rules do not let
// it change. Internal x-vmcp-* headers are removed by the connector routes, after routing has
// used them.
func withoutUnforwarded(req []*corev3.HeaderValue, set []*corev3.HeaderValueOption, remove []string) []string {
	skip := make(map[string]bool, len(set)+len(remove))
	for _, s := range set {
		skip[strings.ToLower(s.GetHeader().GetKey())] = true
	}
	for _, r := range remove {
		skip[strings.ToLower(r)] = true
	}
	for _, h := range req {
		k := strings.ToLower(h.GetKey())
		if !headers.Unforwarded(k) || skip[k] {
			continue
		}
		skip[k] = true
		remove = append(remove, k)
	}
	return remove
}
