package stdio

import (
	"bytes"
	"encoding/json"
)

// The bridge rewrites exactly three things in messages it passes on: the JSON-RPC id, the
// progress token (params._meta.progressToken on requests, params.progressToken on progress
// notifications) and the requestId of cancellations. Everything else travels as the raw bytes it
// arrived as; only a params object holding one of those fields is decoded, one level deep, with
// its members kept raw.

// field returns obj[key] of a JSON object, or nil.
func field(obj json.RawMessage, key string) json.RawMessage {
	if len(obj) == 0 || bytes.TrimSpace(obj)[0] != '{' {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return nil
	}
	return m[key]
}

// withField returns obj with obj[key] = val.
func withField(obj json.RawMessage, key string, val json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil || m == nil {
		return obj
	}
	m[key] = val
	out, err := marshalRaw(m)
	if err != nil {
		return obj
	}
	return out
}

func marshalRaw(m map[string]json.RawMessage) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// requestProgressToken is params._meta.progressToken of a request.
func requestProgressToken(params json.RawMessage) json.RawMessage {
	return field(field(params, "_meta"), "progressToken")
}

// withRequestProgressToken replaces params._meta.progressToken.
func withRequestProgressToken(params, tok json.RawMessage) json.RawMessage {
	return withField(params, "_meta", withField(field(params, "_meta"), "progressToken", tok))
}
