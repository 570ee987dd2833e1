package policysource

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/plugins/logs"
	"github.com/open-policy-agent/opa/v1/server"
	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/policyset"
)

// decisionQueue is how many decisions may wait for the decision-log plugin. OPA's plugin masks
// each event by evaluating Rego, which must not run on the request path: decisions are handed
// over here and a worker feeds the plugin, which batches and uploads them.
const decisionQueue = 4096

// shipper hands decisions to OPA's decision-log plugin off the request path.
type shipper struct {
	plugin  *logs.Plugin
	queue   chan server.Info
	dropped atomic.Int64
	log     *zap.Logger
}

func newShipper(p *logs.Plugin, log *zap.Logger) *shipper {
	return &shipper{plugin: p, queue: make(chan server.Info, decisionQueue), log: log}
}

// LogDecision queues one decision and returns its id. A full queue drops the decision (counted
// and logged) rather than slowing requests down; the audit event still records it.
func (s *shipper) LogDecision(_ context.Context, r policyset.Record) string {
	id := uuid.NewString()
	result := r.Result
	info := server.Info{
		DecisionID: id,
		Path:       r.Path,
		InputAST:   r.Input,
		Results:    &result,
		Bundles:    map[string]server.BundleInfo{BundleName: {Revision: r.Revision}},
		Timestamp:  time.Now().UTC(),
		Error:      r.Err,
	}
	select {
	case s.queue <- info:
	default:
		if n := s.dropped.Add(1); n&(n-1) == 0 { // log at 1, 2, 4, 8, … drops: one line, not a flood
			s.log.Warn("decision log queue full; decisions dropped", zap.Int64("dropped", n))
		}
	}
	return id
}

// run feeds queued decisions to the plugin until ctx is done, then drains what is queued.
func (s *shipper) run(ctx context.Context) {
	for {
		select {
		case info := <-s.queue:
			s.ship(info)
		case <-ctx.Done():
			for {
				select {
				case info := <-s.queue:
					s.ship(info)
				default:
					return
				}
			}
		}
	}
}

func (s *shipper) ship(info server.Info) {
	// The plugin's JSON encoding reads Input; its mask and drop rules read InputAST.
	if info.InputAST != nil {
		if v, err := ast.JSON(info.InputAST); err == nil {
			info.Input = &v
		}
	}
	if err := s.plugin.Log(context.Background(), &info); err != nil {
		s.log.Error("decision log", zap.String("decision_id", info.DecisionID), zap.Error(err))
	}
}
