// Package envoynames names what vmcp's Envoy configuration and vmcp's components must agree on:
// the HTTP filters (whose names are also the namespaces of their dynamic metadata), the route
// tables the listeners ask for over ADS, the static clusters and the node. The bootstrap
// template (envoy/), the xDS resources (xds/) and the services that read Envoy's metadata (authz,
// extproc) all use these, so a rename cannot leave one of them behind.
package envoynames

// HTTP filters of the edge and egress listeners; routes turn filters off per route under these
// names, and Envoy files a filter's dynamic metadata under its name.
const (
	FilterExtAuthz = "envoy.filters.http.ext_authz"
	FilterExtProc  = "envoy.filters.http.ext_proc"
	FilterRouter   = "envoy.filters.http.router"
	// FilterBuffer holds a request on a plain route until its body is complete, so the route
	// sets its headers from what extproc decided about the body (plain.go).
	FilterBuffer = "envoy.filters.http.buffer"
	// FilterJSONAnswer and FilterSSEAnswer read a direct route's answer (JSON or SSE) into
	// AnswerMetadata; every other request skips them (direct.go).
	FilterJSONAnswer = "envoy.filters.http.json_to_metadata"
	FilterSSEAnswer  = "envoy.filters.http.sse_to_metadata"
)

// Route configurations of the two listeners, served over ADS (RDS).
const (
	RouteEdge   = "vmcp_edge"
	RouteEgress = "vmcp_egress"
)

// Static clusters of the bootstrap: vmcp's own servers.
const (
	ClusterXDS     = "vmcp_xds"
	ClusterAuthz   = "vmcp_authz"
	ClusterExtProc = "vmcp_extproc"
	ClusterHTTP    = "vmcp_http"
	// ClusterOTLP is the OpenTelemetry collector Envoy exports spans to, when tracing is on.
	ClusterOTLP = "vmcp_otlp"
)
