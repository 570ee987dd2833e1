package aggregator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/revision"
	"github.com/vmcp-dev/vmcp/internal/sse"
	"github.com/vmcp-dev/vmcp/internal/tracing"
)

// maxUpstreamBody bounds one connector answer read by the aggregator.
const maxUpstreamBody = 16 << 20

// upstreamClient speaks MCP Streamable HTTP to connectors through Envoy's egress listener.
type upstreamClient struct {
	http   *http.Client
	egress string // http://host:port of the egress listener
	nextID atomic.Int64
}

func newUpstreamClient(egressAddr string) *upstreamClient {
	// Fan-out sends one request per connector per client request: keep enough idle connections
	// to Envoy that bursts reuse them instead of opening new ones (docs/design.md, "Lessons").
	tr := &http.Transport{
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90e9,
	}
	return &upstreamClient{http: &http.Client{Transport: tr}, egress: "http://" + egressAddr}
}

// call is one JSON-RPC exchange with a connector.
type call struct {
	connector       *connector
	sessionID       string
	protocolVersion string
	identity        string
	method          string
	params          any
}

// callResult is the connector's answer and, after initialize, its session id.
type callResult struct {
	result    json.RawMessage
	sessionID string
}

// errUpstream marks failures of the connector, as opposed to a JSON-RPC error it returned.
var errUpstream = errors.New("connector failed")

// statusError is a connector's answer with an HTTP status other than 200.
type statusError struct {
	method string
	status int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%v: %s answered HTTP %d", errUpstream, e.method, e.status)
}

func (e *statusError) Unwrap() error { return errUpstream }

func (u *upstreamClient) do(ctx context.Context, c call) (*callResult, error) {
	id := u.nextID.Add(1)
	msg := map[string]any{"jsonrpc": "2.0", "id": id, "method": c.method}
	if c.params != nil {
		msg["params"] = c.params
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	resp, err := u.post(ctx, c, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, &statusError{method: c.method, status: resp.StatusCode}
	}
	answer, err := readAnswer(resp, strconv.FormatInt(id, 10))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errUpstream, c.method, err)
	}
	if answer.Error != nil {
		return nil, answer.Error
	}
	return &callResult{result: answer.Result, sessionID: resp.Header.Get(headers.SessionID)}, nil
}

// notify sends a notification; connectors answer 202 with no body.
func (u *upstreamClient) notify(ctx context.Context, c call) error {
	msg := map[string]any{"jsonrpc": "2.0", "method": c.method}
	if c.params != nil {
		msg["params"] = c.params
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	resp, err := u.post(ctx, c, body)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%w: %s answered HTTP %d", errUpstream, c.method, resp.StatusCode)
	}
	return nil
}

// terminate ends a connector session (HTTP DELETE), best effort.
func (u *upstreamClient) terminate(ctx context.Context, c call) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u.egress+c.connector.path, nil)
	if err != nil {
		return err
	}
	u.setHeaders(req, c)
	resp, err := u.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", errUpstream, err)
	}
	resp.Body.Close()
	return nil
}

// stream opens a connector's GET stream in a session, resuming after lastEventID when set.
func (u *upstreamClient) stream(ctx context.Context, c call, lastEventID string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.egress+c.connector.path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	u.setHeaders(req, c)
	resp, err := u.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUpstream, err)
	}
	return resp, nil
}

func (u *upstreamClient) post(ctx context.Context, c call, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.egress+c.connector.path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	u.setHeaders(req, c)
	resp, err := u.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUpstream, err)
	}
	return resp, nil
}

func (u *upstreamClient) setHeaders(req *http.Request, c call) {
	// The egress listener continues the trace and passes it on to the connector.
	tracing.Inject(req.Context(), req.Header)
	req.Header.Set(headers.Connector, c.connector.name)
	if c.method != "" {
		req.Header.Set(headers.RPCMethod, c.method)
	}
	if c.identity != "" {
		req.Header.Set(headers.Identity, c.identity)
	}
	if c.sessionID != "" {
		req.Header.Set(headers.SessionID, c.sessionID)
	}
	if c.protocolVersion != "" {
		req.Header.Set(headers.ProtocolVersion, c.protocolVersion)
	}
	if revision.Modern(c.protocolVersion) && c.method != "" {
		// 2026-07-28 servers refuse requests whose method is not mirrored in a header.
		req.Header.Set(headers.Method, c.method)
	}
}

// readAnswer returns the JSON-RPC response with the given id from a JSON or SSE body. In an SSE
// body, notifications and server requests before the answer are skipped.
func readAnswer(resp *http.Response, id string) (*jsonrpc.Message, error) {
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	body := io.LimitReader(resp.Body, maxUpstreamBody)
	switch ct {
	case "application/json":
		data, err := io.ReadAll(body)
		if err != nil {
			return nil, err
		}
		return jsonrpc.Parse(data)
	case "text/event-stream":
		r := sse.NewReader(body)
		for {
			ev, err := r.Next()
			if err != nil {
				return nil, fmt.Errorf("stream ended before the answer: %w", err)
			}
			if len(bytes.TrimSpace(ev.Data)) == 0 {
				// A priming event (2025-11-25: an id and no data, for resumption) or a
				// keep-alive: nothing to read.
				continue
			}
			m, err := jsonrpc.Parse(ev.Data)
			if err != nil {
				return nil, err
			}
			if m.Method == "" && string(m.ID) == id {
				return m, nil
			}
		}
	default:
		return nil, fmt.Errorf("unexpected content type %q", ct)
	}
}
