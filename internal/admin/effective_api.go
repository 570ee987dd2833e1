package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"go.uber.org/zap"
)

// EffectiveToolsPath is the policy dry run of tools/list.
const EffectiveToolsPath = "/admin/api/effective-tools"

// MethodEffectiveTools is recorded for effective-tools requests.
const MethodEffectiveTools = "admin/effective-tools"

// EffectiveToolsFunc lists the tools user (in groups) would see on virtual server vs.
type EffectiveToolsFunc func(ctx context.Context, user string, groups []string, vs string) ([]json.RawMessage, error)

// EffectiveTools is the answer of GET /admin/api/effective-tools.
type EffectiveTools struct {
	User          string            `json:"user"`
	Groups        []string          `json:"groups"`
	VirtualServer string            `json:"virtual_server"`
	Tools         []json.RawMessage `json:"tools"`
}

// serveEffectiveTools: GET /admin/api/effective-tools?user=alice&groups=eng,sre&vs=demo → the
// tools/list answer alice would get on demo, through the same code path as tools/list.
func (h *Handler) serveEffectiveTools(w http.ResponseWriter, r *http.Request, c *call) {
	p, err := newParams(r.URL.Query(), "user", "groups", "vs")
	if err != nil {
		h.fail(w, c, err)
		return
	}
	c.query = p.canonical()
	user, vs := p.str("user"), p.str("vs")
	switch {
	case user == "":
		h.fail(w, c, badParam("user", "is required"))
		return
	case vs == "":
		h.fail(w, c, badParam("vs", "is required"))
		return
	}
	groups := []string{}
	for _, g := range strings.Split(p.str("groups"), ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.QueryTimeout)
	defer cancel()
	tools, err := h.cfg.EffectiveTools(ctx, user, groups, vs)
	if err != nil {
		c.status, c.reason = http.StatusNotFound, "effective tools failed"
		h.cfg.Log.Info("admin: effective tools", zap.String("vs", vs), zap.Error(err))
		writeError(w, c.status, "not_found", "vs", err.Error())
		return
	}
	if tools == nil {
		tools = []json.RawMessage{}
	}
	writeJSON(w, http.StatusOK, EffectiveTools{User: user, Groups: groups, VirtualServer: vs, Tools: tools})
}
