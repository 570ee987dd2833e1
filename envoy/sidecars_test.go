package envoy

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	extprocsvc "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/vmcp-dev/vmcp/internal/envoynames"
	"github.com/vmcp-dev/vmcp/internal/headers"
)

// These tests drive the real Envoy with the real bootstrap against stand-ins for vmcp's authz and
// extproc servers, to pin down what the bootstrap promises them: the filter order, the listener
// name in the stream metadata, authz's dynamic metadata reaching extproc, buffered request bodies,
// and failing closed when either server is down.

// allowAuthz answers every Check with OK and the identity as dynamic metadata, as authz does.
type allowAuthz struct {
	authv3.UnimplementedAuthorizationServer
}

func (allowAuthz) Check(context.Context, *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	md, _ := structpb.NewStruct(map[string]any{"sub": "alice"})
	return &authv3.CheckResponse{
		Status:          &status.Status{Code: int32(codes.OK)},
		HttpResponse:    &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{}},
		DynamicMetadata: md,
	}, nil
}

// seen is what the extproc stand-in observed on one ext_proc stream.
type seen struct {
	listener string // from the gRPC initial metadata
	sub      string // from the forwarded ext_authz dynamic metadata
	body     string // the buffered request body
	phases   []string
}

// passExtProc lets everything through unchanged and records what it saw.
type passExtProc struct {
	extprocsvc.UnimplementedExternalProcessorServer
	mu      sync.Mutex
	streams []*seen
}

func (p *passExtProc) Process(stream extprocsvc.ExternalProcessor_ProcessServer) error {
	s := &seen{}
	if md, ok := metadata.FromIncomingContext(stream.Context()); ok {
		if v := md.Get(headers.Listener); len(v) == 1 {
			s.listener = v[0]
		}
	}
	defer func() {
		p.mu.Lock()
		p.streams = append(p.streams, s)
		p.mu.Unlock()
	}()
	for {
		req, err := stream.Recv()
		if err != nil {
			return nil // io.EOF or the stream's end: nothing more to answer
		}
		var resp extprocsvc.ProcessingResponse
		switch r := req.Request.(type) {
		case *extprocsvc.ProcessingRequest_RequestHeaders:
			s.phases = append(s.phases, "request_headers")
			s.sub = req.GetMetadataContext().GetFilterMetadata()[envoynames.FilterExtAuthz].GetFields()["sub"].GetStringValue()
			resp.Response = &extprocsvc.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocsvc.HeadersResponse{}}
		case *extprocsvc.ProcessingRequest_RequestBody:
			s.phases = append(s.phases, "request_body")
			s.body += string(r.RequestBody.GetBody())
			resp.Response = &extprocsvc.ProcessingResponse_RequestBody{RequestBody: &extprocsvc.BodyResponse{}}
		case *extprocsvc.ProcessingRequest_ResponseHeaders:
			s.phases = append(s.phases, "response_headers")
			resp.Response = &extprocsvc.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocsvc.HeadersResponse{}}
		default:
			s.phases = append(s.phases, "unexpected")
			return nil
		}
		if err := stream.Send(&resp); err != nil {
			return nil
		}
	}
}

func (p *passExtProc) observed() []*seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*seen(nil), p.streams...)
}

// serveGRPC runs a gRPC server with one service on a loopback port until the test ends.
func serveGRPC(t *testing.T, register func(*grpc.Server)) string {
	t.Helper()
	addr, _ := startGRPC(t, register)
	return addr
}

// startGRPC is serveGRPC for tests that stop the server themselves.
func startGRPC(t *testing.T, register func(*grpc.Server)) (string, *grpc.Server) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	register(g)
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)
	return l.Addr().String(), g
}

func TestEnvoyWithTheSideServices(t *testing.T) {
	type want struct {
		edge, egress int
	}
	tests := []struct {
		name             string
		authzUp, procUp  bool
		want             want
		wantProcObserved bool
	}{
		{"both up: requests are routed", true, true, want{http.StatusOK, http.StatusOK}, true},
		// ext_authz's local reply still passes through ext_proc's response path (see below).
		{"authz down: the edge answers 503", false, true, want{http.StatusServiceUnavailable, http.StatusOK}, true},
		// The edge's ext_proc fails with 503 (status_on_error); the egress keeps Envoy's 500,
		// which only the aggregator sees.
		{"extproc down: the edge answers 503, the egress 500", true, false, want{http.StatusServiceUnavailable, http.StatusInternalServerError}, false},
		// vmcp down: ext_authz's 503 passes through ext_proc, which fails too: still a 503.
		{"both down: the edge still refuses, with 503", false, false, want{http.StatusServiceUnavailable, http.StatusInternalServerError}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			proc := &passExtProc{}
			params := BootstrapParams{NodeID: NodeID, XDS: serveADS(t), Authz: freeAddr(t), ExtProc: freeAddr(t), HTTP: freeAddr(t)}
			if tt.authzUp {
				params.Authz = serveGRPC(t, func(g *grpc.Server) { authv3.RegisterAuthorizationServer(g, allowAuthz{}) })
			}
			if tt.procUp {
				params.ExtProc = serveGRPC(t, func(g *grpc.Server) { extprocsvc.RegisterExternalProcessorServer(g, proc) })
			}
			params = startReadyEnvoy(t, params)

			const body = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
			if got, text := post(t, "http://"+params.Edge+"/v/demo/mcp", body); got != tt.want.edge {
				t.Errorf("edge: %d %q, want %d", got, text, tt.want.edge)
			}
			if tt.want.edge == http.StatusServiceUnavailable {
				// Last, so that its ext_proc stream is not among those observed below.
				defer checkUnavailable(t, "http://"+params.Edge+"/v/demo/mcp", body)
			}
			if got, text := post(t, "http://"+params.Egress+"/mcp", ""); got != tt.want.egress {
				t.Errorf("egress: %d %q, want %d", got, text, tt.want.egress)
			}
			if !tt.wantProcObserved {
				return
			}
			// Envoy ends an ext_proc stream after the last phase it sends, and the stand-in
			// records a stream when it ends.
			var streams []*seen
			eventually(t, 30*time.Second, "both ext_proc streams to end", func() bool {
				streams = proc.observed()
				return len(streams) == 2
			})
			byListener := map[string]*seen{}
			for _, s := range streams {
				byListener[s.listener] = s
			}
			edge, egress := byListener["edge"], byListener["egress"]
			if edge == nil || egress == nil {
				t.Fatalf("ext_proc streams by listener: %v", byListener)
			}
			if tt.authzUp {
				if strings.Join(edge.phases, ",") != "request_headers,request_body,response_headers" {
					t.Errorf("edge phases = %v", edge.phases)
				}
				if edge.body != body {
					t.Errorf("edge body = %q, want the whole body %q", edge.body, body)
				}
				if edge.sub != "alice" {
					t.Errorf("extproc did not get authz's dynamic metadata (sub = %q)", edge.sub)
				}
			} else if strings.Join(edge.phases, ",") != "response_headers" {
				// Envoy 1.40: a local reply from ext_authz (a 503 here, a 401 or 403 in production)
				// runs through ext_proc's response path on a stream that never saw the request.
				t.Errorf("edge phases on an authz error = %v", edge.phases)
			}
			// Egress: the request headers (identity check, credential) and the response
			// headers (the audit outcome); no bodies.
			if strings.Join(egress.phases, ",") != "request_headers,response_headers" {
				t.Errorf("egress phases = %v, want request and response headers only", egress.phases)
			}
		})
	}
}

func writeBootstrap(t *testing.T, p BootstrapParams) string {
	t.Helper()
	out, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bootstrap.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, b := postJSON(t, url, body)
	return resp.StatusCode, string(b)
}

// postJSON posts a JSON body to url and returns the response, its body read.
func postJSON(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}
