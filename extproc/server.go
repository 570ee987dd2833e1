package extproc

import (
	"context"
	"errors"
	"io"
	"sync/atomic"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/routing"
	"github.com/vmcp-dev/vmcp/internal/session"
	"github.com/vmcp-dev/vmcp/internal/tracing"
)

// Server implements envoy.service.ext_proc.v3.ExternalProcessor.
type Server struct {
	extprocv3.UnimplementedExternalProcessorServer
	state     atomic.Pointer[rewrites]
	sessions  *session.Codec
	connector KeptSessions
	catalog   routing.Catalog
	recovery  SessionRecovery
	audit     audit.Sink
	log       *zap.Logger
	// users serves connectors with per-user credentials (SetUserCredentials).
	users UserCredentials
	// signer verifies the identity authz signed for each request (and the aggregator for each
	// fan-out request).
	signer *identity.Signer
	// outcomes hold the audit events of direct calls until Envoy's access log brings their
	// outcome (direct.go).
	outcomes pendingOutcomes
}

// KeptSessions gives a client that keeps no MCP session (stateless clients, MCP 2026-07-28)
// a connector session kept for it by vmcp; the aggregator implements it.
type KeptSessions interface {
	// ConnectorSession returns the session and revision to use with connector; with modern set
	// (a 2026-07-28 client) and a connector of that revision, no session and that revision.
	ConnectorSession(ctx context.Context, signedIdentity, subject, vs, connector string, modern bool) (sessionID, version string, err error)
	ForgetConnectorSession(subject, vs, connector string)
}

// NewServer returns an ext_proc server that opens client session ids with sessions, learns the
// caller from identities signed with signer's key, and gets
// connector sessions for sessionless clients from connector (nil: route them without one).
// Every routed or refused MCP request becomes an audit event on sink (nil: none).
func NewServer(sessions *session.Codec, signer *identity.Signer, connector KeptSessions, sink audit.Sink, log *zap.Logger) *Server {
	if sink == nil {
		sink = audit.Discard{}
	}
	// The aggregator, which keeps connector sessions, also replaces the connector sessions it
	// keeps, and those of client sessions.
	recovery, _ := connector.(SessionRecovery)
	return &Server{sessions: sessions, signer: signer, connector: connector, recovery: recovery, audit: sink, log: log}
}

// SetCatalog gives routing what the connectors' lists say (the aggregator's list cache). Without
// one, only names the configuration alone places (prefix mode always) are routed, unchecked
// against the connector's list, and no resource URI is. Call it before serving.
func (s *Server) SetCatalog(c routing.Catalog) { s.catalog = c }

// Prepare compiles cfg, routing included; the returned commit swaps it in.
func (s *Server) Prepare(cfg *config.Config) (func(), error) {
	routes, err := routing.Compile(cfg)
	if err != nil {
		return nil, err
	}
	return s.PrepareRoutes(cfg, routes)
}

// PrepareRoutes compiles cfg with routes, its routing Table, which the aggregator shares; the
// returned commit swaps it in.
func (s *Server) PrepareRoutes(cfg *config.Config, routes *routing.Table) (func(), error) {
	c, err := compile(cfg, routes)
	if err != nil {
		return nil, err
	}
	return func() { s.state.Store(c) }, nil
}

// Process handles one HTTP stream: Envoy sends the request headers, then (on the edge, for
// requests with a body) the buffered body, then the response headers.
func (s *Server) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	state := s.state.Load()
	if state == nil {
		return status.Error(codes.Unavailable, "vmcp is not configured yet")
	}
	ctx, span := tracing.StartGRPC(stream.Context(), "envoy.service.ext_proc.v3.ExternalProcessor", "Process", nil)
	defer span.End()
	var handle func(*extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse
	if listenerOf(ctx) == "egress" {
		e := &egressExchange{state: state, users: s.users, signer: s.signer, audit: s.audit, ctx: ctx, log: s.log}
		handle = e.handle
		defer e.done()
	} else {
		e := s.edgeExchange(ctx, state)
		e.send = stream.Send
		handle = e.handle
		defer e.done()
	}
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(handle(req)); err != nil {
			return err
		}
	}
}

// edgeExchange starts following one client request on the edge listener under configuration state.
func (s *Server) edgeExchange(ctx context.Context, state *rewrites) *edgeExchange {
	return &edgeExchange{state: state, sessions: s.sessions, keptSessions: s.connector, catalog: s.catalog,
		audit: s.audit, log: s.log, ctx: ctx, users: s.users, signer: s.signer, recovery: s.recovery, outcomes: &s.outcomes}
}

// listenerOf reads the listener name the bootstrap puts in the gRPC initial metadata.
func listenerOf(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(headers.Listener); len(v) > 0 {
		return v[0]
	}
	return "edge"
}
