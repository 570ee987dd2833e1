package authz

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/tokens"
	"github.com/vmcp-dev/vmcp/internal/tracing"
)

// Server implements envoy.service.auth.v3.Authorization.
type Server struct {
	authv3.UnimplementedAuthorizationServer
	state     atomic.Pointer[gate]
	keys      KeySource
	signer    *identity.Signer
	log       *zap.Logger
	audit     audit.Sink
	decisions *prometheus.CounterVec
	metrics   *metrics
	now       func() time.Time

	mu      sync.Mutex // serialises Prepare/commit
	remotes map[string]*remoteKeys

	// revocations are vmcp's own tokens revoked before they expire (WatchRevocations).
	revocations revocations
	// revisions says which connectors speak 2026-07-28 (SetConnectorRevisions); set before
	// serving.
	revisions ConnectorRevisions
}

// KeySource is vmcp's own signing key ring as authz needs it.
type KeySource interface {
	PublicSet() jwk.Set
	// Reload re-reads the keys unless that happened within minInterval; it reports whether it did.
	Reload(ctx context.Context, minInterval time.Duration) bool
}

// NewServer returns an authz server verifying vmcp's own tokens against keys and signing
// identities with signer; decisions are counted in reg (nil: not exported). It denies everything
// until the first configuration is committed.
func NewServer(keys KeySource, signer *identity.Signer, log *zap.Logger, reg prometheus.Registerer, sink audit.Sink) *Server {
	if sink == nil {
		sink = audit.Discard{}
	}
	s := &Server{
		keys: keys, signer: signer, log: log, audit: sink, now: time.Now,
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vmcp_authz_decisions_total",
			Help: "ext_authz decisions by virtual server and outcome (allow, deny, unauthenticated, error).",
		}, []string{"virtual_server", "decision"}),
		metrics: newMetrics(),
	}
	if reg != nil {
		reg.MustRegister(append(s.metrics.collectors(), s.decisions)...)
	}
	return s
}

// clock reads the server's time source; tests move it.
func (s *Server) clock() time.Time { return s.now() }

// Prepare compiles cfg and its policies; the returned commit swaps them in.
func (s *Server) Prepare(cfg *config.Config) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gate, remotes, err := s.compile(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.remotes = remotes
		s.state.Store(gate)
		s.log.Info("authz: configuration applied", zap.String("policy", gate.policy.source), zap.Int("issuers", len(gate.issuers)))
	}, nil
}

// Check decides one request: find the virtual server → verify the token → ask the policy →
// answer.
func (s *Server) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	gate := s.state.Load()
	httpReq := req.GetAttributes().GetRequest().GetHttp()
	ctx, span := tracing.StartGRPC(ctx, "envoy.service.auth.v3.Authorization", "Check", httpReq.GetHeaders())
	defer span.End()
	if gate == nil || httpReq == nil {
		return denied(http.StatusServiceUnavailable, "temporarily_unavailable", "", "vmcp is not configured yet"), nil
	}
	path, _, _ := strings.Cut(httpReq.GetPath(), "?")
	vs := gate.byPath[path]
	if vs == nil {
		return denied(http.StatusNotFound, "not_found", "", "no virtual MCP server at this path"), nil
	}
	hdrs := httpReq.GetHeaders()
	ev := auditEvent{vs: vs.name, counted: vs.decisions, requestID: hdrs["x-request-id"], mcpMethod: mcpMethod(httpReq.GetMethod(), hdrs), span: span}
	if !gate.origins.Allow(hdrs["origin"]) {
		// Before the token: a page on a rebound or foreign origin learns nothing, not even
		// whether the browser's token is good.
		ev.decision, ev.reason = "deny", "origin not allowed"
		s.record(ev)
		return originRefused(), nil
	}

	token, ok := headers.BearerToken(hdrs[headers.Authorization])
	if !ok {
		ev.decision, ev.reason = "unauthenticated", "no bearer token"
		s.record(ev)
		return unauthorized(vs.spelledFor(httpReq.GetHost()), ""), nil
	}
	now := s.clock()
	v, key, err := gate.verify(ctx, vs, token, now)
	if err != nil {
		reason := "token is invalid"
		if ie := (*tokens.InvalidError)(nil); errors.As(err, &ie) {
			reason = ie.Reason
		}
		ev.decision, ev.reason = "unauthenticated", reason
		s.record(ev)
		return unauthorized(vs.spelledFor(httpReq.GetHost()), reason), nil
	}
	ev.subject, ev.email, ev.clientID, ev.issuer = v.claims.Subject, v.claims.Email, v.claims.ClientID, v.issuer.name
	if v.issuer.own != nil && s.revocations.revoked(v.claims.ID, v.claims.Family) {
		// RFC 7009 §2: a revoked access token must not be accepted again; the cache holds
		// it until it expires, so this is checked on every request, cached or not.
		ev.decision, ev.reason = "unauthenticated", "token revoked"
		s.record(ev)
		return unauthorized(vs.spelledFor(httpReq.GetHost()), "token revoked"), nil
	}
	if ok, wait := vs.limits.allow(v.issuer.account, v.claims.Subject, now); !ok {
		ev.decision, ev.reason = "deny", "rate limited"
		s.record(ev)
		return rateLimited(wait), nil
	}
	if g := v.grant; g != nil && gate.policy.perCaller {
		// The policy's answer depends on nothing this request could change.
		ev.decision, ev.reason, ev.policy, ev.revision = "allow", g.d.reason, gate.policy.source, g.d.revision
		resp := allowed(g.signed, hdrs, g.d.headers, s.routeHint(vs, httpReq), s.recordAllowed(&ev, now))
		gate.passSubjectTokenOn(resp, v, token)
		return resp, nil
	}

	in := buildInput(vs, v, httpReq.GetMethod(), path, hdrs)
	started := time.Now()
	d, err := gate.policy.decide(ctx, in)
	s.metrics.policy.Observe(time.Since(started).Seconds())
	if err != nil {
		// Fail closed: a policy that cannot decide denies.
		s.log.Error("authz: policy failed; denying", zap.String("vs", vs.name), zap.Error(err))
		ev.decision, ev.reason, ev.policy = "error", "policy evaluation failed", gate.policy.source
		ev.revision, ev.decisionID = d.revision, d.id
		s.record(ev)
		return denied(http.StatusForbidden, "access_denied", "", "the access policy could not decide"), nil
	}
	ev.revision, ev.decisionID = d.revision, d.id
	if !d.allow {
		ev.decision, ev.reason, ev.policy = "deny", d.reason, gate.policy.source
		s.record(ev)
		return forbidden(vs.spelledFor(httpReq.GetHost()), d), nil
	}
	resp, err := s.allow(ev, vs, v, d, gate, httpReq, key)
	if err == nil {
		gate.passSubjectTokenOn(resp, v, token)
	}
	return resp, err
}

func (s *Server) allow(ev auditEvent, vs *virtualServer, v verified, d decision, gate *gate, httpReq *authv3.AttributeContext_HttpRequest, key [sha256.Size]byte) (*authv3.CheckResponse, error) {
	hdrs := httpReq.GetHeaders()
	id := identity.Identity{
		Subject:       v.claims.Subject,
		Email:         v.claims.Email,
		Groups:        tokens.StringList(v.claims.All[v.issuer.groupsClaim]),
		ClientID:      v.claims.ClientID,
		VirtualServer: vs.name,
		Expiry:        v.claims.Expiry.Unix(),
	}
	signed, err := s.signer.Sign(id)
	if err != nil {
		s.log.Error("authz: sign identity", zap.Error(err))
		return denied(http.StatusInternalServerError, "server_error", "", "internal error"), nil
	}
	if gate.policy.perCaller {
		gate.cache.setGrant(key, &grant{d: d, signed: signed})
	}
	ev.decision, ev.reason, ev.policy = "allow", d.reason, gate.policy.source
	return allowed(signed, hdrs, d.headers, s.routeHint(vs, httpReq), s.recordAllowed(&ev, s.clock())), nil
}

// verify checks token for vs, from the cache when it was verified before. A token signed by a
// key the issuer's set lacks triggers one (rate-limited) refetch of that issuer's keys: that is
// how a rotated key becomes usable.
func (gate *gate) verify(ctx context.Context, vs *virtualServer, token string, now time.Time) (verified, [sha256.Size]byte, error) {
	key := cacheKey(vs.resource, token)
	if v, ok := gate.cache.get(key, now); ok {
		return v, key, nil
	}
	v, err := gate.verifyUncached(ctx, vs, token)
	if err == nil {
		gate.cache.put(key, v, now)
	}
	return v, key, err
}

func (gate *gate) verifyUncached(ctx context.Context, vs *virtualServer, token string) (verified, error) {
	iss, wellFormed := peekIssuer(token)
	if !wellFormed {
		// Said as it is: "issuer is not trusted" would send the user looking for a
		// configuration problem when the client sent something that is not a JWT at all.
		return verified{}, tokens.Invalid("token is malformed (not a JWT)")
	}
	is := gate.issuers[iss]
	if is == nil {
		return verified{}, tokens.Invalid("token issuer is not trusted")
	}
	claims, err := is.verifier().Verify(token, vs.audiences...)
	if errors.Is(err, tokens.ErrUnknownKey) && is.refresh(ctx) {
		claims, err = is.verifier().Verify(token, vs.audiences...)
	}
	if err != nil {
		return verified{}, err
	}
	in, err := identityInput(is, claims)
	if err != nil {
		return verified{}, tokens.Invalid("token claims are unusable")
	}
	return verified{claims: claims, issuer: is, input: in}, nil
}

// spelledFor returns the challenge and metadata URL in the spelling of the public URL the client
// reached the edge on (its Host), so that a client on an alias — or on localhost rather than
// 127.0.0.1 in development — is sent to metadata naming the resource it used (RFC 9728 §3.3).
// An unknown host gets the canonical spelling.
func (vs *virtualServer) spelledFor(host string) spelling {
	if sp, ok := vs.byHost[host]; ok {
		return sp
	}
	if sp, ok := vs.byHost[strings.ToLower(host)]; ok {
		return sp
	}
	return spelling{challenge: vs.challenge, metadata: vs.metadata}
}

// peekIssuer reads the unverified iss claim, only to choose whose keys verify the token; the
// verification then checks iss exactly. wellFormed is false when the token is not a JWT at all
// (three base64url parts, a JSON object in the middle).
func peekIssuer(token string) (iss string, wellFormed bool) {
	parts := strings.SplitN(token, ".", 4)
	if len(parts) != 3 || len(parts[1]) > 16<<10 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var claims struct {
		Iss any `json:"iss"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return "", false
	}
	s, _ := claims.Iss.(string)
	return s, true
}

// auditEvent is one authz decision as Check sees it; record turns it into an audit event. It
// never holds the token.
type auditEvent struct {
	vs, requestID, mcpMethod         string
	subject, email, clientID, issuer string
	decision, reason, policy         string
	revision, decisionID             string
	// span is Check's trace span, which gets the decision too.
	span tracing.Span
	// counted are the virtual server's decision counters (virtualServer.decisions).
	counted map[string]prometheus.Counter
	// id is the event's id: set for a request authz allowed, which hands it on (recordAllowed).
	id string
}

// recordAllowed records ev, a request authz allowed, and returns the hand-off the request
// carries on (headers.Decision): whatever records the request itself does so under ev's id, and
// its event takes the place of this one in the audit trail (audit.Handoff).
func (s *Server) recordAllowed(ev *auditEvent, now time.Time) string {
	ev.id = audit.NewID(now)
	s.record(*ev)
	return audit.Handoff{ID: ev.id, Policy: ev.policy, Reason: ev.reason, PolicyRevision: ev.revision, DecisionID: ev.decisionID}.Encode()
}

func (s *Server) record(ev auditEvent) {
	if c := ev.counted[ev.decision]; c != nil {
		c.Inc()
	} else {
		s.decisions.WithLabelValues(ev.vs, ev.decision).Inc()
	}
	outcome := audit.OutcomeOK
	if ev.decision != "allow" {
		outcome = audit.OutcomeDenied
	}
	e := audit.Event{
		ID:             ev.id,
		Kind:           audit.KindAuthz,
		RequestID:      ev.requestID,
		Subject:        ev.subject,
		Email:          ev.email,
		ClientID:       ev.clientID,
		VirtualServer:  ev.vs,
		Method:         ev.mcpMethod,
		Decision:       ev.decision,
		Policy:         ev.policy,
		Reason:         ev.reason,
		PolicyRevision: ev.revision,
		DecisionID:     ev.decisionID,
		Outcome:        outcome,
	}
	ev.span.Audited(&e)
	s.audit.Record(e)
}
