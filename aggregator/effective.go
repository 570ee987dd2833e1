package aggregator

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vmcp-dev/vmcp/internal/identity"
)

// effectiveTTL is how long the identity signed for a dry run stays valid: one fan-out.
const effectiveTTL = time.Minute

// EffectiveTools is the tool list the caller would get from tools/list on the named virtual
// server — the same fan-out, list cache, renames, hiding, vmcp.tools filter and tool-discovery
// view — because it is the same code (toolsView, which tools/list pages). It answers the policy dry run
// (`vmcp policy tools`, the admin API's effective-tools); the caller's groups are what the admin
// says, not from a token.
func (s *Server) EffectiveTools(ctx context.Context, caller identity.Identity, vsName string) ([]json.RawMessage, error) {
	catalog := s.state.Load()
	if catalog == nil {
		return nil, fmt.Errorf("vmcp is not configured yet")
	}
	var vs *virtualServer
	for _, v := range catalog.byPath {
		if v.name == vsName {
			vs = v
		}
	}
	if vs == nil {
		return nil, fmt.Errorf("no virtual server named %q", vsName)
	}
	caller.VirtualServer = vs.name
	caller.Expiry = time.Now().Add(effectiveTTL).Unix()
	signed, err := s.signer.Sign(caller)
	if err != nil {
		return nil, err
	}
	req := &request{vs: vs, catalog: catalog, caller: caller, signed: signed, method: "tools/list"}
	tools, _ := s.toolsView(ctx, req)
	return tools, nil
}
