// Package policysource keeps vmcp's active policy set coming from where the configuration says
// — a directory (default), an OPA bundle file, or an OPA bundle service — and ships decision
// logs. It runs OPA's own plugin manager with OPA's bundle and decision-log plugins, so bundle
// polling (ETag), signature verification, decision-log batching and mask rules behave exactly as
// in OPA. A newly activated bundle is handed to the gateway, which applies it to authz and
// extproc together or not at all; a bundle that is bad, unsigned or rejected is reported and the
// last good one keeps deciding.
package policysource

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/plugins"
	bundleplugin "github.com/open-policy-agent/opa/v1/plugins/bundle"
	"github.com/open-policy-agent/opa/v1/plugins/discovery"
	"github.com/open-policy-agent/opa/v1/plugins/logs"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/policyset"
)

// Status is what /healthz reports about policies.
type Status struct {
	// Source is where policies come from: a directory, a bundle file or a bundle URL.
	Source string `json:"source"`
	// Revision is the revision of the policies deciding now.
	Revision string `json:"revision"`
	// ActivatedAt is when they started deciding.
	ActivatedAt time.Time `json:"activated_at"`
	// LastError is the last bundle that was refused and why ("" when the last one was taken).
	LastError string `json:"last_error,omitempty"`
}

// Runtime owns the OPA plugin manager and the active policy set.
type Runtime struct {
	log     *zap.Logger
	cfg     *config.Config
	mgr     *plugins.Manager
	shipper *shipper
	bundled bool
	source  string

	// applying serialises applies of bundles, so a newer bundle is never overtaken by an older.
	applying sync.Mutex
	mu       sync.Mutex
	// activate applies a newly activated bundle everywhere (the gateway's all-or-nothing apply);
	// nil until the gateway is ready, when the first bundle is only remembered.
	activate func(*policyset.Set) error
	first    *policyset.Set
	active   *policyset.Set
	status   Status
	ready    chan struct{}
	readyOne sync.Once
	cancel   context.CancelFunc
	done     sync.WaitGroup
}

// New prepares the runtime for cfg's policy block; nothing runs until Start.
func New(cfg *config.Config, log *zap.Logger) (*Runtime, error) {
	r := &Runtime{log: log, cfg: cfg, bundled: cfg.Policy.Bundle != nil, ready: make(chan struct{})}
	switch {
	case cfg.Policy.Bundle != nil && cfg.Policy.Bundle.File != "":
		r.source = "bundle file " + cfg.Resolve(cfg.Policy.Bundle.File)
	case cfg.Policy.Bundle != nil:
		r.source = "bundle " + cfg.Policy.Bundle.URL + "/" + orDefault(cfg.Policy.Bundle.Resource, "bundles/vmcp.tar.gz")
	}
	if !r.bundled && cfg.Policy.DecisionLogs == nil {
		return r, nil // directory or defaults, nothing shipped: OPA's plugins are not needed
	}
	doc, err := opaConfig(cfg)
	if err != nil {
		return nil, err
	}
	mgr, err := plugins.New(doc, instanceID(), inmem.New(), plugins.Logger(newZapLogger(log)), plugins.ConsoleLogger(newZapLogger(log.Named("console"))))
	if err != nil {
		return nil, fmt.Errorf("policy: OPA configuration: %w", err)
	}
	// Discovery without a discovery service builds the plugins the configuration names (bundle,
	// decision_logs) with OPA's default factories, as `opa run` and OPA's sdk do.
	d, err := discovery.New(mgr)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	mgr.Register(discovery.Name, d)
	mgr.RegisterCompilerTrigger(r.onCompile)
	r.mgr = mgr
	return r, nil
}

// Start starts OPA's plugins. With a bundle it waits for the first one to activate (or ctx to
// end): vmcp does not decide anything before it has the operator's policies.
func (r *Runtime) Start(ctx context.Context) error {
	if r.mgr == nil {
		return nil
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	// The shipper and the status listener exist before the first bundle can activate, so that
	// its decisions are logged and its refusal reported.
	if p := logs.Lookup(r.mgr); p != nil {
		r.shipper = newShipper(p, r.log.Named("decision-log"))
		r.done.Add(1)
		go func() { defer r.done.Done(); r.shipper.run(runCtx) }()
	}
	if p := bundleplugin.Lookup(r.mgr); p != nil {
		p.Register("vmcp", r.onBundleStatus)
	}
	if err := r.mgr.Start(ctx); err != nil {
		cancel()
		r.done.Wait()
		return fmt.Errorf("policy: start OPA plugins: %w", err)
	}
	if b := r.cfg.Policy.Bundle; b != nil && b.File != "" {
		r.watchFile(runCtx, r.cfg.Resolve(b.File))
	}
	if !r.bundled {
		return nil
	}
	select {
	case <-r.ready:
		return nil
	case <-ctx.Done():
		r.Stop(context.Background())
		return fmt.Errorf("policy: no bundle from %s activated: %s", r.source, r.Status().LastError)
	}
}

// Stop stops OPA's plugins, flushing decision logs.
func (r *Runtime) Stop(ctx context.Context) {
	if r.mgr == nil || r.cancel == nil {
		return
	}
	r.cancel()
	r.done.Wait()
	r.mgr.Stop(ctx)
}

// OnActivate makes every later bundle activation go through apply; called once the gateway has
// applied its first configuration.
func (r *Runtime) OnActivate(apply func(*policyset.Set) error) {
	r.applying.Lock()
	defer r.applying.Unlock()
	r.mu.Lock()
	r.activate = apply
	pending := r.first
	if pending == r.active {
		pending = nil
	}
	r.mu.Unlock()
	// A bundle that activated after the gateway's first apply but before this call was only
	// remembered: apply it now, or it would wait for the next bundle change.
	if pending != nil {
		if err := apply(pending); err != nil {
			r.refused(fmt.Errorf("bundle activated by OPA but refused by vmcp: %w", err))
		}
	}
}

// SetFor is the policy set to apply cfg with: the bundle's (last applied, or the first one
// before anything was applied), or cfg's directory (or the defaults). Decisions made with it
// are shipped to the decision log when one is configured.
func (r *Runtime) SetFor(cfg *config.Config) (*policyset.Set, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bundled {
		if r.active != nil {
			return r.active, nil
		}
		if r.first != nil {
			return r.first, nil
		}
		return nil, errors.New("policy: no bundle activated yet")
	}
	dir := ""
	if cfg.Auth.Policies != "" {
		dir = cfg.Resolve(cfg.Auth.Policies)
	}
	set, err := policyset.Load(dir)
	if err != nil {
		return nil, err
	}
	return r.withLogger(set), nil
}

func (r *Runtime) withLogger(set *policyset.Set) *policyset.Set {
	if r.shipper == nil {
		return set
	}
	return set.WithDecisionLogger(r.shipper)
}

// Applied records that set now decides everywhere. For a directory it also becomes the OPA
// manager's policy, so that decision-log mask rules written beside the policies apply.
func (r *Runtime) Applied(set *policyset.Set) {
	r.mu.Lock()
	changed := r.active == nil || r.active.Revision != set.Revision
	r.active = set
	r.status.Revision, r.status.ActivatedAt = set.Revision, time.Now().UTC()
	r.status.Source = set.Source
	if r.source != "" {
		r.status.Source = r.source
	}
	r.mu.Unlock()
	if changed && !r.bundled && r.mgr != nil {
		if err := r.loadIntoManager(set); err != nil {
			r.log.Error("decision log mask rules not loaded", zap.Error(err))
		}
	}
}

// Status reports the source, the active revision and the last refusal.
func (r *Runtime) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// onCompile runs inside the OPA store's commit of a newly activated bundle: it snapshots the
// bundle's modules, data and revision from that very transaction and applies them.
func (r *Runtime) onCompile(txn storage.Transaction) {
	if !r.bundled {
		return
	}
	r.applying.Lock()
	defer r.applying.Unlock()
	set, err := r.snapshot(txn)
	if storage.IsNotFound(err) {
		return // a commit before any bundle was activated (the manager's own initialisation)
	}
	if err == nil {
		set = r.withLogger(set)
	}
	r.mu.Lock()
	apply := r.activate
	if err == nil && apply == nil {
		r.first = set // the latest, until the gateway is ready to apply
	}
	r.mu.Unlock()
	if err == nil && apply != nil {
		err = apply(set)
	}
	if err != nil {
		r.refused(fmt.Errorf("bundle activated by OPA but refused by vmcp: %w", err))
		return
	}
	r.mu.Lock()
	r.status.LastError = ""
	r.mu.Unlock()
	r.log.Info("policy bundle activated", zap.String("source", r.source), zap.String("revision", set.Revision))
	r.readyOne.Do(func() { close(r.ready) })
}

func (r *Runtime) snapshot(txn storage.Transaction) (*policyset.Set, error) {
	ctx := context.Background()
	store := r.mgr.Store
	rev, err := bundle.ReadBundleRevisionFromStore(ctx, store, txn, BundleName)
	if err != nil {
		return nil, err
	}
	ids, err := store.ListPolicies(ctx, txn)
	if err != nil {
		return nil, err
	}
	mods := make(map[string]string, len(ids))
	for _, id := range ids {
		b, err := store.GetPolicy(ctx, txn, id)
		if err != nil {
			return nil, err
		}
		mods[id] = string(b)
	}
	raw, err := store.Read(ctx, txn, storage.Path{})
	if err != nil {
		return nil, fmt.Errorf("read bundle data: %w", err)
	}
	// The store's values belong to OPA and change with the next bundle: keep a copy.
	v, err := ast.InterfaceToValue(raw)
	if err != nil {
		return nil, fmt.Errorf("bundle data: %w", err)
	}
	copied, err := ast.JSON(v)
	if err != nil {
		return nil, fmt.Errorf("bundle data: %w", err)
	}
	data, _ := copied.(map[string]any)
	return policyset.FromModules(mods, data, r.source, rev)
}

// onBundleStatus hears about every download and activation attempt; a failed one (bad
// signature, unreadable bundle, compile error) is reported while the last good bundle decides.
func (r *Runtime) onBundleStatus(s bundleplugin.Status) {
	if s.Code == "" && s.Message == "" && len(s.Errors) == 0 {
		return
	}
	err := errors.New(s.Message)
	if len(s.Errors) > 0 {
		err = fmt.Errorf("%s: %w", s.Message, errors.Join(s.Errors...))
	}
	r.refused(err)
}

func (r *Runtime) refused(err error) {
	r.mu.Lock()
	msg := err.Error()
	repeated := r.status.LastError == msg
	r.status.LastError = msg
	revision := r.status.Revision
	r.mu.Unlock()
	if !repeated { // a bad bundle polled again and again is one log line, not one per poll
		r.log.Error("policy bundle refused; the last good policies keep deciding",
			zap.String("source", r.source), zap.String("active_revision", revision), zap.Error(err))
	}
}

// loadIntoManager makes set the OPA manager's policies (for decision-log mask and drop rules).
func (r *Runtime) loadIntoManager(set *policyset.Set) error {
	ctx := context.Background()
	return storage.Txn(ctx, r.mgr.Store, storage.WriteParams, func(txn storage.Transaction) error {
		ids, err := r.mgr.Store.ListPolicies(ctx, txn)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := r.mgr.Store.DeletePolicy(ctx, txn, id); err != nil {
				return err
			}
		}
		for name, src := range set.Modules() {
			if err := r.mgr.Store.UpsertPolicy(ctx, txn, name, []byte(src)); err != nil {
				return err
			}
		}
		return nil
	})
}

// watchFile triggers the bundle plugin whenever the bundle file changes, so a new file is picked
// up without a restart (OPA reads file:// bundles once otherwise). It returns once the file is
// watched, so that a file replaced right after start is not missed.
func (r *Runtime) watchFile(ctx context.Context, path string) {
	p := bundleplugin.Lookup(r.mgr)
	if p == nil {
		return
	}
	watching, stopped := make(chan struct{}), make(chan struct{})
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		defer close(stopped)
		err := config.WatchDir(ctx, filepath.Dir(path), filepath.Base(path), r.log.Named("bundle-file"), func() { close(watching) }, func() error {
			return p.Trigger(ctx)
		})
		if err != nil && ctx.Err() == nil {
			r.log.Error("policy bundle file watch stopped", zap.String("file", path), zap.Error(err))
		}
	}()
	select {
	case <-watching:
	case <-stopped:
	case <-ctx.Done():
	}
}
