package clientmeta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// Document is a validated Client ID Metadata Document: the RFC 7591 §2 client metadata that
// vmcp's authorization server uses. Members it does not know are allowed (CIMD-00 §4.1) and
// dropped.
type Document struct {
	ClientID                string   `json:"client_id"`
	ClientName              string   `json:"client_name,omitempty"`
	ClientURI               string   `json:"client_uri,omitempty"`
	LogoURI                 string   `json:"logo_uri,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types,omitempty"`
	ResponseTypes           []string `json:"response_types,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	Scope                   string   `json:"scope,omitempty"`
}

// clone returns a copy that shares nothing with d, so a caller cannot alter a cached document.
func (d *Document) clone() *Document {
	c := *d
	c.RedirectURIs = slices.Clone(d.RedirectURIs)
	c.GrantTypes = slices.Clone(d.GrantTypes)
	c.ResponseTypes = slices.Clone(d.ResponseTypes)
	return &c
}

// Member names. forbiddenMembers carry a shared secret, which a public document cannot hold
// (CIMD-00 §4.1: client_secret and client_secret_expires_at MUST NOT be used).
const (
	memberClientID     = "client_id"
	memberClientName   = "client_name"
	memberClientURI    = "client_uri"
	memberLogoURI      = "logo_uri"
	memberRedirectURIs = "redirect_uris"
	memberGrantTypes   = "grant_types"
	memberRespTypes    = "response_types"
	memberAuthMethod   = "token_endpoint_auth_method"
	memberScope        = "scope"
)

var (
	knownMembers = []string{
		memberClientID, memberClientName, memberClientURI, memberLogoURI, memberRedirectURIs,
		memberGrantTypes, memberRespTypes, memberAuthMethod, memberScope,
	}
	forbiddenMembers = []string{"client_secret", "client_secret_expires_at"}
	allMembers       = slices.Concat(knownMembers, forbiddenMembers)
)

// ParseDocument decodes body as the metadata document fetched from clientID and validates it.
// Fetch calls it; it is exported for documents obtained by other means (CIMD-02 §7.2 lets an
// authorization server pre-register a Client Identifier URL).
func ParseDocument(clientID string, body []byte) (*Document, error) {
	d, err := parseDocument(clientID, body)
	if err != nil {
		return nil, fmt.Errorf("%w from %s: %w", ErrInvalidDocument, truncate(clientID), err)
	}
	return d, nil
}

func parseDocument(clientID string, body []byte) (*Document, error) {
	members, err := decodeMembers(body)
	if err != nil {
		return nil, err
	}
	var d Document
	for _, f := range []struct {
		name string
		dst  any
	}{
		{memberClientID, &d.ClientID},
		{memberClientName, &d.ClientName},
		{memberClientURI, &d.ClientURI},
		{memberLogoURI, &d.LogoURI},
		{memberRedirectURIs, &d.RedirectURIs},
		{memberGrantTypes, &d.GrantTypes},
		{memberRespTypes, &d.ResponseTypes},
		{memberAuthMethod, &d.TokenEndpointAuthMethod},
		{memberScope, &d.Scope},
	} {
		raw, ok := members[f.name]
		// A null member is read as an absent one: generators emit "logo_uri": null for unset
		// fields, and a required member that is null then fails as missing.
		if !ok || bytes.Equal(raw, []byte("null")) {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return nil, reason(f.name + " has the wrong type")
		}
	}
	if err := d.validate(clientID); err != nil {
		return nil, err
	}
	return &d, nil
}

// decodeMembers returns the top-level members of a strict JSON object, keyed exactly as written.
func decodeMembers(body []byte) (map[string]json.RawMessage, error) {
	// RFC 8259 §8.1: JSON exchanged between systems MUST be UTF-8. encoding/json would replace
	// invalid bytes with U+FFFD, so two parsers could read two different documents.
	if !utf8.Valid(body) {
		return nil, reason("not valid UTF-8")
	}
	// Duplicate keys are a parser differential: {"client_id":"A","client_id":"B"} is "B" to
	// encoding/json and "A" to a first-wins parser, so the document validated here would not be
	// the one another component reads. CheckStrict refuses them, and excess nesting.
	if err := jsonrpc.CheckStrict(body); err != nil {
		return nil, strictReason(err)
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, reason("not a JSON object")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return nil, reason("not a JSON object")
	}
	// The map keeps keys exactly as written, but a key that differs from a known one only in
	// case ("Client_ID", or "client_ſecret" under Unicode folding) would be that member to a
	// case-insensitive reader such as encoding/json's struct decoding: refused, for the same
	// reason as a duplicate.
	for k := range members {
		for _, m := range allMembers {
			if k != m && strings.EqualFold(k, m) {
				return nil, reason("a member name differs from " + m + " only in case")
			}
		}
	}
	for _, m := range forbiddenMembers {
		if _, ok := members[m]; ok {
			return nil, reason(m + " must not be present: a client metadata document cannot carry a shared secret")
		}
	}
	return members, nil
}

// strictReason restates a CheckStrict refusal without its echo of the offending key.
func strictReason(err error) error {
	msg := err.Error()
	var e *jsonrpc.Error
	if errors.As(err, &e) {
		msg = e.Message
	}
	if strings.HasPrefix(msg, "duplicate key") {
		return reason("a JSON object has a duplicate key")
	}
	if strings.HasPrefix(msg, "invalid JSON") || strings.HasPrefix(msg, "JSON nested") {
		return reason(msg)
	}
	return reason("not strict JSON")
}
