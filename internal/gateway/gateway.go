// Package gateway wires vmcp's components together: it opens the store, loads keys, starts the
// xDS, ext_authz, ext_proc and HTTP servers, and applies each configuration to all of them at
// once — or to none, when any of them rejects it.
package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/vmcp-dev/vmcp/aggregator"
	"github.com/vmcp-dev/vmcp/authz"
	"github.com/vmcp-dev/vmcp/extproc"
	"github.com/vmcp-dev/vmcp/internal/admin"
	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/console"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/metrics"
	"github.com/vmcp-dev/vmcp/internal/policyset"
	"github.com/vmcp-dev/vmcp/internal/policysource"
	"github.com/vmcp-dev/vmcp/internal/session"
	"github.com/vmcp-dev/vmcp/internal/store"
	"github.com/vmcp-dev/vmcp/internal/tokens"
	"github.com/vmcp-dev/vmcp/internal/tracing"
	"github.com/vmcp-dev/vmcp/oauth"
	"github.com/vmcp-dev/vmcp/xds"
)

// Version is vmcp's version as reported to MCP clients.
var Version = "0.1.0-dev"

// SessionTTL is how long a client-facing MCP session id stays valid.
const SessionTTL = 24 * time.Hour

// EndedSessionsSync is how often each replica learns of the sessions other replicas' clients
// ended (DELETE): the longest a deleted session id keeps working on another replica.
const EndedSessionsSync = time.Second

// component is anything that takes configuration: Prepare compiles without side effects, the
// returned commit makes it live.
type component interface {
	Prepare(*config.Config) (commit func(), err error)
}

// Gateway is a running vmcp.
type Gateway struct {
	log        *zap.Logger
	store      store.Store
	keys       *tokens.Keys
	xds        *xds.Server
	authz      *authz.Server
	extproc    *extproc.Server
	aggregator *aggregator.Server
	metadata   *oauth.Metadata
	oauth      *oauth.Server
	console    *console.Handler
	// stdio runs command connectors' processes; see stdio.go.
	stdio *stdioConnectors
	// ended is the set of sessions clients ended, synced from the store.
	ended *session.Ended
	users *userCredentials
	// otlpEndpoint overrides each configuration's trace collector (Options.OTLPEndpoint).
	otlpEndpoint string

	metrics *prometheus.Registry
	// requests counts every audit event into the request metrics, then hands it to recorder.
	requests *metrics.Requests
	recorder *audit.Recorder
	// policies keeps the active policy set (directory or OPA bundle) and ships decision logs.
	policies *policysource.Runtime

	// admin serves the audit API; rebuilt on every Apply (admin groups can change).
	admin atomic.Pointer[admin.Handler]

	mu  sync.Mutex
	cfg *config.Config
	// The policy directory watcher, owned by Run's context.
	runCtx          context.Context
	policyDir       string
	stopPolicyWatch context.CancelFunc
	watchers        sync.WaitGroup
}

// Options are how a gateway is run rather than what it serves.
type Options struct {
	// Dev enables what only `vmcp dev` may do: built-in users, client metadata documents on
	// private addresses.
	Dev bool
	// OTLPEndpoint, when set, is the trace collector of every configuration applied, whatever
	// its observability.tracing.endpoint says (`vmcp dev --otlp-endpoint`).
	OTLPEndpoint string
}

// New builds a gateway for cfg. Nothing listens until Run.
func New(ctx context.Context, cfg *config.Config, log *zap.Logger, opts Options) (*Gateway, error) {
	db, err := store.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	g, err := newWithStore(ctx, cfg, db, log, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	return g, nil
}

func newWithStore(ctx context.Context, cfg *config.Config, db store.Store, log *zap.Logger, opts Options) (*Gateway, error) {
	keys, err := tokens.LoadKeys(ctx, db, cfg.Auth.KeyRotation, KeyRetention(cfg))
	if err != nil {
		return nil, err
	}
	random32 := func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	}
	idKey, err := db.Secret(ctx, "identity-hmac-1", random32)
	if err != nil {
		return nil, err
	}
	sessKey, err := db.Secret(ctx, "session-aes-1", random32)
	if err != nil {
		return nil, err
	}
	sealKey, err := db.Secret(ctx, "login-seal-1", random32)
	if err != nil {
		return nil, err
	}
	signer, err := identity.NewSigner(idKey)
	if err != nil {
		return nil, err
	}
	sessions, err := session.NewCodec(sessKey, SessionTTL)
	if err != nil {
		return nil, err
	}
	ended := session.NewEnded(db, log.Named("session"))
	sessions.TrackEnded(ended)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The recorder names its own "audit" logger.
	recorder, err := audit.NewRecorder(db, audit.OptionsFromConfig(cfg.Audit), log, reg)
	if err != nil {
		return nil, err
	}
	// Every request ends in one audit event; the request metrics are counted from those, so
	// every component records into the observer wrapped around the recorder. The aggregator
	// (made with it) tells the observer which tool names are real.
	catalog := &lateCatalog{}
	requests, err := metrics.NewRequests(recorder, catalog, reg)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		log:        log,
		store:      db,
		keys:       keys,
		metrics:    reg,
		requests:   requests,
		recorder:   recorder,
		xds:        xds.NewServer(log.Named("xds")),
		authz:      authz.NewServer(keys, signer, log.Named("authz"), reg, requests),
		metadata:   &oauth.Metadata{},
		oauth:      oauth.NewServer(oauth.Options{Store: db, Keys: keys, SealKey: sealKey, Dev: opts.Dev, Log: log.Named("oauth")}),
		aggregator: aggregator.NewServer(cfg.Server.Envoy.Egress, signer, sessions, Version, requests, log.Named("aggregator")),
		stdio:      newStdioConnectors(log.Named("stdio"), Version),
		ended:      ended,

		otlpEndpoint: opts.OTLPEndpoint,
	}
	catalog.catalog = g.aggregator
	if err := metrics.RegisterAggregator(reg, g.aggregator); err != nil {
		return nil, err
	}
	// Connector sessions that replace ones their connector forgot are found by every replica.
	g.aggregator.SetRemapStore(db)
	g.extproc = extproc.NewServer(sessions, signer, g.aggregator, requests, log.Named("extproc"))
	// Routing asks the aggregator's lists what a name or URI is.
	g.extproc.SetCatalog(g.aggregator)
	// authz sends a call to its connector's direct route once the aggregator knows the
	// connector speaks the client's revision.
	g.authz.SetConnectorRevisions(g.aggregator)
	if err := g.initUserCredentials(ctx, db, opts); err != nil {
		return nil, err
	}
	if err := g.initConsole(ctx, random32); err != nil {
		return nil, err
	}
	if err := g.startPolicies(ctx, cfg); err != nil {
		return nil, err
	}
	if err := g.Apply(cfg); err != nil {
		g.policies.Stop(context.Background())
		return nil, err
	}
	g.policies.OnActivate(g.applyPolicySet)
	return g, nil
}

// Apply hands cfg to every component, all or nothing.
func (g *Gateway) Apply(cfg *config.Config) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.applyLocked(cfg, nil)
}

// applyLocked applies cfg with the policy set given (a newly activated bundle), or else the one
// the policy source has for cfg. Every component gets the same set: one revision decides
// everywhere. Called with g.mu held.
func (g *Gateway) applyLocked(cfg *config.Config, set *policyset.Set) error {
	cfg = g.withTracingOverride(cfg)
	if g.cfg != nil {
		if err := restartRequired(g.cfg, cfg); err != nil {
			return err
		}
	}
	cfg, set, err := g.withPolicies(cfg, set)
	if err != nil {
		return err
	}
	// Command connectors next: every other component sees them as the URLs of their bridges.
	cfg, commitStdio, rollbackStdio, err := g.stdio.prepare(cfg)
	if err != nil {
		return err
	}
	commits := []func(){commitStdio}
	for _, c := range []component{g.xds, g.authz, sharedRoutes{g.extproc, g.aggregator}, g.metadata, g.oauth, g.console, g.users, g.requests} {
		commit, err := c.Prepare(cfg)
		if err != nil {
			rollbackStdio()
			return err
		}
		commits = append(commits, commit)
	}
	for _, commit := range commits {
		commit()
	}
	g.policies.Applied(set)
	g.cfg = cfg
	if h, err := g.newAdmin(cfg); err == nil {
		g.admin.Store(h)
	} else {
		g.log.Error("admin API unavailable", zap.Error(err))
	}
	g.syncPolicyWatch()
	return nil
}

// AdminAudience is the audience of tokens for the admin API: vmcp's own, never a virtual
// server's, so that no MCP client token doubles as an admin credential.
func AdminAudience(cfg *config.Config) string {
	return strings.TrimSuffix(cfg.Server.PublicURL, "/") + "/admin"
}

// newAdmin builds the admin API for cfg: callers present a vmcp token for AdminAudience whose
// groups include one of audit.admin_groups.
func (g *Gateway) newAdmin(cfg *config.Config) (*admin.Handler, error) {
	aud, issuer, leeway := AdminAudience(cfg), cfg.Auth.Issuer, cfg.Auth.Leeway
	return admin.New(admin.Config{
		Store:          g.store,
		Recorder:       g.recorder,
		AdminGroups:    cfg.Audit.AdminGroups,
		Log:            g.log.Named("admin"),
		EffectiveTools: g.effectiveTools,
		Connections:    g.users.manager,
		Authenticate: func(r *http.Request) (string, []string, error) {
			tok, ok := headers.BearerToken(r.Header.Get("Authorization"))
			if !ok {
				return "", nil, errors.New("no bearer token")
			}
			claims, err := tokens.NewVerifier(g.keys.PublicSet(), issuer, leeway).Verify(tok, aud)
			if err != nil {
				return "", nil, err
			}
			return claims.Subject, claims.Groups, nil
		},
	})
}

// syncPolicyWatch makes the policy directory watcher follow the configuration: a reload that
// adds, moves or removes auth.policies starts or stops watching accordingly. Called with g.mu
// held; before Run there is nothing to watch with.
func (g *Gateway) syncPolicyWatch() {
	dir := g.cfg.PolicyDir()
	if g.runCtx == nil || dir == g.policyDir {
		return
	}
	if g.stopPolicyWatch != nil {
		g.stopPolicyWatch()
		g.stopPolicyWatch = nil
	}
	g.policyDir = dir
	if dir == "" {
		return
	}
	ctx, cancel := context.WithCancel(g.runCtx)
	g.stopPolicyWatch = cancel
	g.watchers.Add(1)
	go func() {
		defer g.watchers.Done()
		if err := config.WatchDir(ctx, dir, ".rego", g.log.Named("policy"), nil, g.reapply); err != nil {
			g.log.Error("policy watch stopped", zap.String("dir", dir), zap.Error(err))
		}
	}()
}

// restartRequired refuses reloads that change what a running process cannot change: its
// listening addresses and data directory.
func restartRequired(old, cur *config.Config) error {
	if old.Server.Listen != cur.Server.Listen || old.Server.Envoy != cur.Server.Envoy || old.Server.DataDir != cur.Server.DataDir {
		return errors.New("server.listen, server.envoy and server.data_dir changes need a restart")
	}
	if !old.Observability.Tracing.Equal(cur.Observability.Tracing) {
		return errors.New("observability.tracing changes need a restart (Envoy's tracer is in its bootstrap)")
	}
	return policyRestartRequired(old, cur)
}

// KeyRetention is how long a retired signing key stays published: long enough for every token it
// signed to expire.
func KeyRetention(cfg *config.Config) time.Duration {
	return cfg.Auth.TokenTTL + cfg.Auth.Leeway
}

// Run serves until ctx is done, reloading configuration from the file it came from whenever it
// changes (watchFile false disables that, for embedded configurations).
func (g *Gateway) Run(ctx context.Context, watchFile bool) error {
	defer g.store.Close()
	defer g.policies.Stop(context.Background())
	// Command connectors' processes stop with vmcp (SIGTERM, then SIGKILL after a grace
	// period, whole process group).
	defer g.stdio.stopAll()
	cfg := g.current()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopTracing, err := g.startTracing(ctx, cfg)
	if err != nil {
		return err
	}
	defer stopTracing()

	listeners := map[string]string{
		"xds": cfg.Server.Listen.XDS, "authz": cfg.Server.Listen.Authz,
		"extproc": cfg.Server.Listen.ExtProc, "http": cfg.Server.Listen.HTTP,
	}
	lis := map[string]net.Listener{}
	for name, addr := range listeners {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, open := range lis {
				open.Close()
			}
			return fmt.Errorf("%s: listen on %s: %w", name, addr, err)
		}
		lis[name] = l
	}

	errc := make(chan error, 8)
	var wg sync.WaitGroup
	run := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}

	run("xds", func() error { return g.xds.Serve(ctx, lis["xds"]) })
	authzGRPC := grpc.NewServer()
	authv3.RegisterAuthorizationServer(authzGRPC, g.authz)
	run("authz", func() error { return authzGRPC.Serve(lis["authz"]) })
	// Envoy hands extproc a buffered request body whole, up to server.max_request_bytes (which a
	// reload may raise), in one message with a little framing; gRPC's default 4 MiB limit would
	// fail a body of exactly 4 MiB with a 500 instead of Envoy's 413 for one above it.
	extprocGRPC := grpc.NewServer(grpc.MaxRecvMsgSize(config.MaxRequestBytesLimit + 1<<20))
	extprocv3.RegisterExternalProcessorServer(extprocGRPC, g.extproc)
	// Envoy's access log brings the outcomes of direct calls, which extproc records.
	accesslogv3.RegisterAccessLogServiceServer(extprocGRPC, g.extproc.AccessLogs())
	run("extproc", func() error { return extprocGRPC.Serve(lis["extproc"]) })
	httpSrv := &http.Server{Handler: g.httpHandler(), ReadHeaderTimeout: 10 * time.Second}
	run("http", func() error { return httpSrv.Serve(lis["http"]) })
	if watchFile && cfg.Path != "" {
		data, err := os.ReadFile(cfg.Path)
		if err != nil {
			return err
		}
		run("config watch", func() error { return config.Watch(ctx, cfg.Path, data, g.log.Named("config"), g.Apply) })
	}
	run("maintenance", func() error { g.maintain(ctx, cfg.Auth.KeyRotation); return nil })
	run("ended sessions", func() error { g.ended.Run(ctx, EndedSessionsSync); return nil })
	run("revocations", func() error { g.authz.WatchRevocations(ctx, g.store, RevocationPoll); return nil })
	// The audit pipeline runs on its own context: on shutdown it must outlive the servers so
	// that the last requests' events are written (or spilled), not lost.
	auditCtx, stopAudit := context.WithCancel(context.Background())
	auditDone := make(chan struct{})
	go func() {
		defer close(auditDone)
		if err := g.recorder.Run(auditCtx); err != nil {
			g.log.Error("audit pipeline did not start", zap.Error(err))
		}
	}()
	defer func() {
		// Direct calls still waiting for their outcome are recorded without it.
		g.extproc.FlushOutcomes()
		stopAudit()
		<-auditDone
		// Close spills (and syncs) anything recorded after Run ended, before the store closes.
		if err := g.recorder.Close(); err != nil {
			g.log.Error("audit: close", zap.Error(err))
		}
	}()
	run("audit retention", func() error {
		return audit.RunRetention(ctx, g.store, cfg.Audit.Retention, 1000, time.Hour, g.log.Named("audit"))
	})
	g.mu.Lock()
	g.runCtx = ctx
	g.syncPolicyWatch()
	g.mu.Unlock()
	g.log.Info("vmcp serving",
		zap.String("xds", cfg.Server.Listen.XDS), zap.String("authz", cfg.Server.Listen.Authz),
		zap.String("extproc", cfg.Server.Listen.ExtProc), zap.String("http", cfg.Server.Listen.HTTP))

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	cancel()
	shutdownCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	// Refuse new client requests at once (without authz Envoy fails closed), while the
	// aggregator's in-flight requests finish: their fan-out still needs extproc on the egress
	// listener, so extproc stops last, once routed calls in flight have their answers.
	authzStopped := make(chan struct{})
	go func() { stopGRPC(shutdownCtx, authzGRPC); close(authzStopped) }()
	// Open notification streams never end by themselves: end them so Shutdown does not wait.
	g.aggregator.Close()
	httpSrv.Shutdown(shutdownCtx)
	<-authzStopped
	stopGRPC(shutdownCtx, extprocGRPC)
	wg.Wait()
	g.watchers.Wait()
	return runErr
}

// stopGRPC lets in-flight checks and streams finish, up to the deadline.
func stopGRPC(ctx context.Context, s *grpc.Server) {
	stopped := make(chan struct{})
	go func() { s.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.Stop()
	}
}

// RevocationPoll is how often every replica rereads the revocation list's version: a revoked
// token is refused everywhere within about this long.
const RevocationPoll = time.Second

// maintain rotates signing keys when due and deletes expired OAuth state, until ctx is done.
func (g *Gateway) maintain(ctx context.Context, rotation time.Duration) {
	t := time.NewTicker(min(rotation/10, time.Hour))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := g.keys.Rotate(ctx); err != nil {
				g.log.Error("signing key rotation failed; the current key keeps signing", zap.Error(err))
			}
			if err := g.store.DeleteExpired(ctx); err != nil {
				g.log.Warn("expired OAuth state not deleted", zap.Error(err))
			}
		}
	}
}

// reapply compiles the current configuration again, picking up changed policy files.
func (g *Gateway) reapply() error { return g.Apply(g.current()) }

func (g *Gateway) current() *config.Config {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cfg
}

// httpHandler serves the aggregator on every virtual server path and a readiness probe, traced
// when tracing is on (probes, metrics and profiles excepted).
func (g *Gateway) httpHandler() http.Handler {
	return tracing.Handler(g.mux(), func(path string) bool {
		return path == "/healthz" || path == "/metrics" || strings.HasPrefix(path, "/debug/")
	})
}

func (g *Gateway) mux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", g.healthz)
	// Prometheus metrics. The edge routes only virtual server paths, /.well-known/, /oauth/, /console/ and /connect/ to
	// this listener, so /metrics is not reachable through Envoy.
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.metrics, promhttp.HandlerOpts{}))
	if g.current().Server.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	// The admin API, like /metrics, is on vmcp's own listener only: the edge routes nothing
	// under /admin/ to it.
	mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		h := g.admin.Load()
		if h == nil {
			http.Error(w, "admin API unavailable", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
	mux.Handle("GET "+oauth.ProtectedResourcePrefix+"/", g.metadata)
	mux.Handle("GET "+oauth.ProtectedResourcePrefix, g.metadata)
	g.oauth.Register(mux)
	// The web console authenticates browsers itself (session cookie from vmcp's login).
	mux.Handle(console.Prefix, g.console)
	g.users.register(mux)
	mux.Handle("/", g.aggregator)
	return mux
}

// The aggregator replaces the connector sessions that routed calls find forgotten.
var _ extproc.SessionRecovery = (*aggregator.Server)(nil)

// lateCatalog is the aggregator as the request metrics' tool catalog. The aggregator is made
// with the metrics' sink, so the catalog is set once it exists, before anything is served.
type lateCatalog struct{ catalog metrics.Catalog }

// KnownTool asks the aggregator; until it is set, no tool is known.
func (l *lateCatalog) KnownTool(vs, tool string) bool {
	return l.catalog != nil && l.catalog.KnownTool(vs, tool)
}
