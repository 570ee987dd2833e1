package aggregator

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// toolJSON encodes a cached tool under its exposed name and, when set, a configured description.
// The connector's own fields are copied as they are, not decoded and encoded again: the cache
// holds only what json.Unmarshal accepted, so each is one valid JSON value. Keys come out
// sorted, as json.Marshal writes a map.
func toolJSON(cached map[string]json.RawMessage, name, description string) json.RawMessage {
	var space [12]string // tools rarely have more fields: no allocation for the key list
	keys := space[:0]
	size := 2 + len(name) + len(description)
	for k, v := range cached {
		keys = append(keys, k)
		size += len(k) + len(v) + 4
	}
	for _, k := range []string{"name", "description"} {
		if _, ok := cached[k]; !ok && (k == "name" || description != "") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	b := make([]byte, 0, size+16)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		switch {
		case k == "name":
			b = appendString(b, name)
		case k == "description" && description != "":
			b = appendString(b, description)
		default:
			b = append(b, cached[k]...)
		}
	}
	return append(b, '}')
}

// encodedArray joins items into one JSON array that jsonrpc.ResultResponse writes as it is. Every
// item must be valid JSON: what json.Marshal or toolJSON produced.
func encodedArray(items []json.RawMessage) jsonrpc.Encoded {
	size := 2
	for _, it := range items {
		size += len(it) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	return append(b, ']')
}

// rawString decodes a JSON string value; a plain one (no escapes), the usual tool name, without
// the reflection of json.Unmarshal.
func rawString(raw json.RawMessage) (string, bool) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && !slices.Contains(raw[1:n-1], '\\') && !slices.Contains(raw[1:n-1], '"') {
		return string(raw[1 : n-1]), true
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err == nil
}

// appendString appends s as a JSON string; plain ASCII, the usual case, is copied directly.
func appendString(b []byte, s string) []byte {
	if !strings.ContainsFunc(s, func(r rune) bool {
		return r < 0x20 || r == '"' || r == '\\' || r > 0x7e || r == '<' || r == '>' || r == '&'
	}) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}
