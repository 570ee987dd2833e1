package gateway

import (
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/routing"
)

// routed is a component that routes by a routing Table it is handed rather than compiles.
type routed interface {
	PrepareRoutes(*config.Config, *routing.Table) (commit func(), err error)
}

// sharedRoutes compiles a configuration's routing once for every component that routes by it
// (extproc places calls, the aggregator lists what may be called): one compile of tool names and
// tool policy per configuration, and the same names and decisions on both sides.
type sharedRoutes []routed

// Prepare compiles cfg's routing Table and prepares every component with it; the commit makes
// them all live. A component that refuses cfg leaves every one of them as it was.
func (s sharedRoutes) Prepare(cfg *config.Config) (func(), error) {
	table, err := routing.Compile(cfg)
	if err != nil {
		return nil, err
	}
	commits := make([]func(), 0, len(s))
	for _, c := range s {
		commit, err := c.PrepareRoutes(cfg, table)
		if err != nil {
			return nil, err
		}
		commits = append(commits, commit)
	}
	return func() {
		for _, commit := range commits {
			commit()
		}
	}, nil
}
