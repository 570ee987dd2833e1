// Package translate turns MCP messages of one protocol revision into messages valid in another,
// so that a client and a connector speaking different revisions understand each other through
// vmcp. It knows nothing of transports: JSON-RPC messages in, messages out, per revision pair.
//
// The revisions it knows are 2025-03-26, 2025-06-18, 2025-11-25 and 2026-07-28. A pair needs
// work only where the revisions disagree on the wire:
//
//   - 2025-x → 2026-07-28 (a connector of the 2025 revisions, a 2026-07-28 client): every result
//     gets resultType "complete" (2026-07-28, "Result": servers MUST include it; the newest SDKs
//     reject a result without it); resources/read results get the cache fields
//     (CacheableResult: ttlMs, cacheScope "private": vmcp read it with the user's credential);
//     resource-not-found -32002 becomes -32602; a
//     URL-elicitation-required error (-32042) becomes the input_required result that replaced
//     it, asking for the same URLs; the notifications the client never asked for or cannot read
//     (notifications/message without a logLevel, notifications/elicitation/complete) and
//     server-to-client requests, which 2026-07-28 replaced with multi round-trip results, are
//     dropped.
//   - 2026-07-28 → 2025-x (the other way round): resultType and the cache fields go; an
//     input_required result becomes -32042 for a 2025-11-25 client when all it asks for is URLs
//     to open, otherwise (sampling, forms, roots: no 2025 client can answer those in a retry) a
//     JSON-RPC error that says why; a structuredContent that is not an object (any JSON value in
//     2026-07-28, an object before) goes, its text stays in content.
//   - 2025-06-18 or later → 2025-03-26: resource_link content blocks (new in 2025-06-18) become
//     text blocks naming the link.
//
// Everything else passes unchanged: a newer 2025 revision reads an older one's messages as they
// are, and fields a revision does not define (title, icons, structuredContent) are allowed in its
// results and ignored by its clients.
package translate

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/revision"
)

// The MCP revisions this package translates between.
const (
	V20250326 = "2025-03-26"
	V20250618 = "2025-06-18"
	V20251125 = "2025-11-25"
	V20260728 = revision.Modern20260728
)

// Error codes that changed between revisions.
const (
	// codeResourceNotFound is resources/read's "not found" in the 2025 revisions; 2026-07-28
	// retired it for -32602 (changelog, minor change 6).
	codeResourceNotFound = -32002
	// codeURLElicitationRequired is 2025-11-25's error asking the client to open URLs
	// (data.elicitations); 2026-07-28 retired it for an input_required result.
	codeURLElicitationRequired = -32042
)

// Client gives the revision of a client: the one it named, or 2025-03-26 for a client that named
// none (MCP 2025-06-18 transports: a server receiving no MCP-Protocol-Version header SHOULD
// assume 2025-03-26).
func Client(named string) string {
	if named == "" {
		return V20250326
	}
	return named
}

// Translator translates the messages a connector sends in answer to one request — the answer
// itself and any notification or request it streams before it — from the connector's revision
// into the client's. A nil *Translator passes every message unchanged.
type Translator struct {
	client, connector, method string
	// logs is set when a 2026-07-28 client asked for log messages (_meta logLevel).
	logs bool
}

// For returns the translator of answers to method, sent by a connector speaking connector to a
// client speaking client, or nil when the two revisions agree on everything such an answer may
// hold: the same revision, or two 2025 revisions where nothing the connector may send is new to
// the client. The common case costs nothing more per message.
func For(client, connector, method string) *Translator {
	client, connector = Client(client), Client(connector)
	switch {
	case client == connector:
		return nil
	case revision.Modern(client) != revision.Modern(connector):
	case client == V20250326 && (method == "tools/call" || method == "prompts/get"):
		// resource_link content blocks, new in 2025-06-18.
	default:
		return nil
	}
	return &Translator{client: client, connector: connector, method: method}
}

// WithLogs says the client asked for log messages (a 2026-07-28 request's
// io.modelcontextprotocol/logLevel): notifications/message reach it.
func (t *Translator) WithLogs(on bool) *Translator {
	if t != nil {
		t.logs = on
	}
	return t
}

// EventIDs says whether the client's revision resumes SSE streams by event id (Last-Event-ID).
// 2026-07-28 removed resumption, and with it event ids and the priming events that carry only
// an id: a 2025 connector's go to a 2026-07-28 client no more.
func (t *Translator) EventIDs() bool {
	return t == nil || !revision.Modern(t.client) || revision.Modern(t.connector)
}

// Bytes translates one JSON-RPC message. keep is false when the client must not get it at all;
// a message that is not JSON-RPC comes back unchanged.
func (t *Translator) Bytes(msg []byte) (out []byte, keep bool) {
	if t == nil {
		return msg, true
	}
	m, err := jsonrpc.Parse(msg)
	if err != nil {
		return msg, true
	}
	keep, changed := t.Message(m)
	if !keep || !changed {
		return msg, keep
	}
	b, err := json.Marshal(m)
	if err != nil {
		return msg, true
	}
	return b, true
}

// Message translates m in place. keep is false when the client must not get it; changed says
// whether m was rewritten.
func (t *Translator) Message(m *jsonrpc.Message) (keep, changed bool) {
	if t == nil {
		return true, false
	}
	switch {
	case m.IsRequest():
		return t.request(m)
	case m.IsNotification():
		return t.notification(m)
	case m.Error != nil:
		if res := t.urlElicitationResult(m.Error); res != nil {
			m.Error, m.Result = nil, res
			return true, true
		}
		return true, t.error(m.Error)
	case m.Result != nil:
		res, changed := t.result(m.Result)
		if e, ok := res.(*jsonrpc.Error); ok {
			m.Result, m.Error = nil, e
			return true, true
		}
		if changed {
			m.Result = res.(json.RawMessage)
		}
		return true, changed
	}
	return true, false
}

// request is a request the connector sends the client inside its answer.
func (t *Translator) request(m *jsonrpc.Message) (keep, changed bool) {
	if revision.Modern(t.client) && !revision.Modern(t.connector) {
		// 2026-07-28 (multi round-trip requests): servers no longer send requests to clients,
		// and a 2026-07-28 client has no way to answer one. vmcp's connector sessions for such
		// clients declare no client capabilities, so a connector that keeps to its revision
		// never sends one; one that does is not answered.
		return false, false
	}
	return true, false
}

// notification is a notification the connector streams before its answer.
func (t *Translator) notification(m *jsonrpc.Message) (keep, changed bool) {
	if !revision.Modern(t.client) || revision.Modern(t.connector) {
		return true, false
	}
	switch m.Method {
	case "notifications/message":
		// 2026-07-28 (logging): a server MUST NOT send log messages for a request without
		// io.modelcontextprotocol/logLevel.
		return t.logs, false
	case "notifications/elicitation/complete":
		// Removed in 2026-07-28: the client learns the outcome by retrying its request.
		return false, false
	}
	return true, false
}

// error translates a JSON-RPC error's code.
func (t *Translator) error(e *jsonrpc.Error) bool {
	if revision.Modern(t.client) && !revision.Modern(t.connector) && e.Code == codeResourceNotFound && t.method == "resources/read" {
		e.Code = jsonrpc.CodeInvalidParams
		return true
	}
	return false
}

// cacheable are the methods whose 2026-07-28 results carry ttlMs and cacheScope.
var cacheable = map[string]bool{
	"tools/list": true, "prompts/list": true, "resources/list": true, "resources/templates/list": true,
	"resources/read": true, "server/discover": true,
}

// result translates a result object. It returns the new result (json.RawMessage), or a
// *jsonrpc.Error that replaces it, and whether anything changed.
func (t *Translator) result(raw json.RawMessage) (any, bool) {
	if revision.Modern(t.client) {
		// (For pairs a modern client only with a 2025 connector.)
		return addFields(raw, cacheable[t.method])
	}
	var r map[string]json.RawMessage
	if json.Unmarshal(raw, &r) != nil || r == nil {
		return raw, false
	}
	changed := false
	if revision.Modern(t.connector) {
		var kind string
		json.Unmarshal(r["resultType"], &kind)
		if kind != "" && kind != "complete" {
			if e := t.urlElicitationError(r["inputRequests"]); e != nil {
				return e, true
			}
			// An input_required result asks the client for input (elicitation, sampling, roots)
			// and to retry; a client of the 2025 revisions knows neither. The call fails with
			// an error that says why rather than a result it would misread as complete.
			return jsonrpc.Errorf(jsonrpc.CodeInternalError, "the connector needs input from the client (MCP %s multi round-trip request), which MCP %s cannot carry", t.connector, t.client), true
		}
		for _, k := range []string{"resultType", "ttlMs", "cacheScope"} {
			if _, ok := r[k]; ok {
				delete(r, k)
				changed = true
			}
		}
		if sc, ok := r["structuredContent"]; ok && firstByte(sc) != '{' {
			// 2025 revisions: structuredContent is an object.
			delete(r, "structuredContent")
			changed = true
		}
	}
	if t.client == V20250326 && t.connector != V20250326 {
		changed = downgradeContent(r, t.method) || changed
	}
	if !changed {
		return raw, false
	}
	b, err := json.Marshal(r)
	if err != nil {
		return raw, false
	}
	return json.RawMessage(b), true
}

// addFields gives a result of a 2025 revision what 2026-07-28 requires of every result
// ("Result": resultType) and, when cacheable, of cacheable ones (CacheableResult: ttlMs,
// cacheScope). The fields are spliced in front of the others: the result is scanned once and
// copied once, never decoded and encoded again.
func addFields(raw json.RawMessage, cacheable bool) (any, bool) {
	var has struct {
		ResultType json.RawMessage `json:"resultType"`
		TTL        json.RawMessage `json:"ttlMs"`
		CacheScope json.RawMessage `json:"cacheScope"`
	}
	body := bytes.TrimLeft(raw, " \t\r\n")
	if len(body) == 0 || body[0] != '{' || json.Unmarshal(body, &has) != nil {
		return raw, false
	}
	if cacheable && has.CacheScope != nil && string(has.CacheScope) != `"private"` {
		// cacheScope means nothing in the 2025 revisions, yet some servers send it there (the
		// go-sdk says "public" unless told otherwise). vmcp called the connector with this
		// user's session and credential: the answer is private to the user, never "public" for
		// shared caches to hand to someone else.
		var r map[string]json.RawMessage
		if json.Unmarshal(body, &r) != nil {
			return raw, false
		}
		r["cacheScope"] = json.RawMessage(`"private"`)
		if has.ResultType == nil {
			r["resultType"] = json.RawMessage(`"complete"`)
		}
		if has.TTL == nil {
			r["ttlMs"] = json.RawMessage(`0`)
		}
		b, err := json.Marshal(r)
		if err != nil {
			return raw, false
		}
		return json.RawMessage(b), true
	}
	var add []byte
	if has.ResultType == nil {
		add = append(add, `"resultType":"complete",`...)
	}
	if cacheable {
		// A connector of the 2025 revisions says nothing of freshness: "immediately stale"
		// (ttlMs 0), and private, since vmcp fetched it with this user's credential.
		if has.TTL == nil {
			add = append(add, `"ttlMs":0,`...)
		}
		if has.CacheScope == nil {
			add = append(add, `"cacheScope":"private",`...)
		}
	}
	if add == nil {
		return raw, false
	}
	rest := bytes.TrimLeft(body[1:], " \t\r\n")
	if len(rest) > 0 && rest[0] == '}' {
		add = add[:len(add)-1] // an empty object: no comma before its end
	}
	out := make([]byte, 0, len(body)+len(add))
	out = append(out, '{')
	out = append(out, add...)
	out = append(out, rest...)
	return json.RawMessage(out), true
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// downgradeContent turns resource_link blocks into text blocks for a 2025-03-26 client, in a
// tools/call result's content or a prompts/get result's messages.
func downgradeContent(r map[string]json.RawMessage, method string) bool {
	switch method {
	case "tools/call":
		var blocks []json.RawMessage
		if json.Unmarshal(r["content"], &blocks) != nil || !downgradeBlocks(blocks) {
			return false
		}
		r["content"], _ = json.Marshal(blocks)
		return true
	case "prompts/get":
		var msgs []map[string]json.RawMessage
		if json.Unmarshal(r["messages"], &msgs) != nil {
			return false
		}
		changed := false
		for _, m := range msgs {
			block := []json.RawMessage{m["content"]}
			if downgradeBlocks(block) {
				m["content"], changed = block[0], true
			}
		}
		if changed {
			r["messages"], _ = json.Marshal(msgs)
		}
		return changed
	}
	return false
}

func downgradeBlocks(blocks []json.RawMessage) bool {
	changed := false
	for i, raw := range blocks {
		if !bytes.Contains(raw, []byte("resource_link")) {
			continue
		}
		var link struct {
			Type        string `json:"type"`
			URI         string `json:"uri"`
			Name        string `json:"name"`
			Description string `json:"description"`
		}
		if json.Unmarshal(raw, &link) != nil || link.Type != "resource_link" {
			continue
		}
		text := "Resource " + link.Name + ": " + link.URI
		if link.Description != "" {
			text += " — " + link.Description
		}
		blocks[i], _ = json.Marshal(map[string]string{"type": "text", "text": text})
		changed = true
	}
	return changed
}

// RequestParams rewrites the params of a request a client of revision client sent, for a
// connector of revision connector, in place.
//
//   - 2026-07-28 → 2025-x: the 2026-07-28 protocol fields of _meta (io.modelcontextprotocol/…,
//     which would make it a 2026-07-28 request again) and the multi round-trip fields
//     (inputResponses, requestState: a 2025 connector never asked for them) go. Other _meta
//     entries, a progress token say, stay.
//   - 2025-x → 2026-07-28: _meta gets the revision and empty client capabilities (a 2026-07-28
//     server MUST NOT infer capabilities the request does not declare).
func RequestParams(params map[string]json.RawMessage, client, connector string) {
	client, connector = Client(client), Client(connector)
	if params == nil || revision.Modern(client) == revision.Modern(connector) {
		return
	}
	var meta map[string]json.RawMessage
	json.Unmarshal(params["_meta"], &meta)
	if revision.Modern(client) {
		delete(params, "inputResponses")
		delete(params, "requestState")
		for k := range meta {
			if strings.HasPrefix(k, "io.modelcontextprotocol/") {
				delete(meta, k)
			}
		}
		if len(meta) == 0 {
			delete(params, "_meta")
			return
		}
	} else {
		if meta == nil {
			meta = map[string]json.RawMessage{}
		}
		meta[revision.MetaKeyProtocolVersion], _ = json.Marshal(connector)
		meta["io.modelcontextprotocol/clientCapabilities"] = json.RawMessage(`{}`)
	}
	params["_meta"], _ = json.Marshal(meta)
}

// AsksForLogs says whether a 2026-07-28 request's params opt in to log messages
// (io.modelcontextprotocol/logLevel in _meta).
func AsksForLogs(params map[string]json.RawMessage) bool {
	var meta map[string]json.RawMessage
	json.Unmarshal(params["_meta"], &meta)
	_, ok := meta["io.modelcontextprotocol/logLevel"]
	return ok
}

// urlElicitation is one URL-mode elicitation in either revision's form.
type urlElicitation struct {
	Mode          string `json:"mode"`
	ElicitationID string `json:"elicitationId,omitempty"`
	URL           string `json:"url"`
	Message       string `json:"message"`
}

// urlElicitationResult turns a 2025-11-25 connector's -32042 (open these URLs, then retry) into
// what a 2026-07-28 client reads the same way: an input_required result whose inputRequests are
// URL-mode elicitations. nil when e is something else.
func (t *Translator) urlElicitationResult(e *jsonrpc.Error) json.RawMessage {
	if !revision.Modern(t.client) || revision.Modern(t.connector) || e.Code != codeURLElicitationRequired {
		return nil
	}
	var data struct {
		Elicitations []urlElicitation `json:"elicitations"`
	}
	if json.Unmarshal(e.Data, &data) != nil || len(data.Elicitations) == 0 {
		return nil
	}
	requests := map[string]any{}
	for i, el := range data.Elicitations {
		key := el.ElicitationID
		if key == "" {
			key = "url-" + strconv.Itoa(i)
		}
		// 2026-07-28 dropped elicitationId: the retry itself says the interaction is over.
		requests[key] = map[string]any{"method": "elicitation/create", "params": map[string]any{"mode": "url", "url": el.URL, "message": el.Message}}
	}
	b, err := json.Marshal(map[string]any{"resultType": "input_required", "inputRequests": requests})
	if err != nil {
		return nil
	}
	return b
}

// urlElicitationError turns a 2026-07-28 input_required result that asks only for URL-mode
// elicitations into 2025-11-25's -32042 for a client of that revision; nil when it asks for
// anything else, or the client's revision has no URL elicitation.
func (t *Translator) urlElicitationError(raw json.RawMessage) *jsonrpc.Error {
	if t.client != V20251125 {
		return nil
	}
	var requests map[string]struct {
		Method string         `json:"method"`
		Params urlElicitation `json:"params"`
	}
	if json.Unmarshal(raw, &requests) != nil || len(requests) == 0 {
		return nil
	}
	var els []urlElicitation
	for key, r := range requests {
		if r.Method != "elicitation/create" || r.Params.Mode != "url" {
			return nil
		}
		els = append(els, urlElicitation{Mode: "url", ElicitationID: key, URL: r.Params.URL, Message: r.Params.Message})
	}
	slices.SortFunc(els, func(a, b urlElicitation) int { return strings.Compare(a.ElicitationID, b.ElicitationID) })
	data, _ := json.Marshal(map[string]any{"elicitations": els})
	return &jsonrpc.Error{Code: codeURLElicitationRequired, Message: "this request needs you to open a URL first", Data: data}
}
