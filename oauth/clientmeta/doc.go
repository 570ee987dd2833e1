// Package clientmeta fetches and validates OAuth Client ID Metadata Documents ("CIMD"): a
// client_id that is an https URL naming a JSON document in which the client describes itself.
//
// MCP 2025-11-25 authorization, "Client ID Metadata Documents": authorization servers SHOULD
// support them and, when they do, MUST follow draft-ietf-oauth-client-id-metadata-document-00
// (cited below as "CIMD-00 §n"). Where the later draft-ietf-oauth-client-id-metadata-document-02
// tightened a SHOULD into a MUST (no redirects, special-use addresses) the code follows the
// stricter text and cites it as "CIMD-02 §n".
//
// The fetch is the dangerous part: the URL comes from an unauthenticated client, so every
// connection is checked at dial time against special-use addresses (ssrf.go), nothing is
// followed, and the read is bounded in size and time (fetch.go). Documents are cached by URL
// within bounds (cache.go), and concurrent fetches of one URL share one request (flight.go).
package clientmeta
