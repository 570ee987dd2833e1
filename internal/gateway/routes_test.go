package gateway

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/routing"
)

// routesUser records the routing Table it was prepared with, and whether it was committed.
type routesUser struct {
	table     *routing.Table
	committed *routing.Table
	refuse    error
}

func (r *routesUser) PrepareRoutes(_ *config.Config, t *routing.Table) (func(), error) {
	r.table = t
	if r.refuse != nil {
		return nil, r.refuse
	}
	return func() { r.committed = t }, nil
}

// extproc and the aggregator route by one Table per configuration: compiled once, the same for
// both, and live in both or in neither.
func TestOneRoutingTablePerConfigurationForEveryComponentThatRoutes(t *testing.T) {
	cfg, err := config.Load(filepath.Join(t.TempDir(), "vmcp.yaml"), []byte(`connectors:
  - {name: notes, url: "http://127.0.0.1:19001/mcp"}
virtual_servers:
  - {name: demo, connectors: [notes]}
`))
	if err != nil {
		t.Fatal(err)
	}
	places, lists := &routesUser{}, &routesUser{}
	commit, err := sharedRoutes{places, lists}.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if places.table == nil || places.table != lists.table || places.table.ByName("demo") == nil {
		t.Fatalf("prepared with tables %p and %p", places.table, lists.table)
	}
	if places.committed != nil || lists.committed != nil {
		t.Fatal("live before the commit")
	}
	commit()
	if places.committed != places.table || lists.committed != places.table {
		t.Error("the commit did not make the table live in both")
	}
	first := places.table

	refusing := &routesUser{refuse: errors.New("no")}
	if _, err := (sharedRoutes{places, refusing}).Prepare(cfg); err == nil {
		t.Fatal("a refusal was not passed on")
	}
	if places.committed != first {
		t.Error("a refused configuration changed what was live")
	}
	if places.table == first {
		t.Error("a second configuration reused the first one's table")
	}
}
