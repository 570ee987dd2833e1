package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"time"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/policyset"
	"github.com/vmcp-dev/vmcp/internal/policysource"
)

// policyStartTimeout bounds how long startup waits for the first policy bundle.
const policyStartTimeout = 30 * time.Second

// startPolicies starts the policy source (OPA's bundle and decision-log plugins when configured)
// and, with a bundle, waits for the first one.
func (g *Gateway) startPolicies(ctx context.Context, cfg *config.Config) error {
	rt, err := policysource.New(cfg, g.log.Named("policy"))
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, policyStartTimeout)
	defer cancel()
	if err := rt.Start(startCtx); err != nil {
		return err
	}
	g.policies = rt
	return nil
}

// withPolicies returns a copy of cfg that carries the policy set every component compiles.
func (g *Gateway) withPolicies(cfg *config.Config, set *policyset.Set) (*config.Config, *policyset.Set, error) {
	if set == nil {
		var err error
		if set, err = g.policies.SetFor(cfg); err != nil {
			return nil, nil, err
		}
	}
	c := *cfg
	c.ActivePolicies = set
	return &c, set, nil
}

// applyPolicySet applies a newly activated bundle with the current configuration, all or
// nothing: an error leaves the last good policies deciding everywhere.
func (g *Gateway) applyPolicySet(set *policyset.Set) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cfg == nil {
		return errors.New("gateway not configured yet")
	}
	return g.applyLocked(g.cfg, set)
}

// policyRestartRequired refuses reloads that change where policies come from or where decisions
// go: OPA's plugins are started once, with the process.
func policyRestartRequired(old, cur *config.Config) error {
	if !reflect.DeepEqual(old.Policy, cur.Policy) {
		return errors.New("policy.bundle and policy.decision_logs changes need a restart")
	}
	return nil
}

// healthz answers readiness probes with the policy source and the revision deciding now.
func (g *Gateway) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Status string              `json:"status"`
		Policy policysource.Status `json:"policy"`
	}{"ok", g.policies.Status()})
}
