package admin

import (
	"context"
	"net/http"
	"sort"
)

// ConnectionsPath lists (GET ?user=SUB) and disconnects (DELETE /{connector}?user=SUB) users'
// per-user OAuth connections: the admin's way to cut a user off a connector, e.g. when an
// account is compromised.
const ConnectionsPath = "/admin/api/connections"

// MethodConnections is recorded for connection admin requests.
const MethodConnections = "admin/connections"

// Connections is the connections manager as the admin API uses it.
type Connections interface {
	Connected(ctx context.Context, subject string) (map[string]bool, error)
	Disconnect(ctx context.Context, subject, connector string) error
}

// ConnectionStatus is one connector in a user's connection list.
type ConnectionStatus struct {
	Connector string `json:"connector"`
	Connected bool   `json:"connected"`
}

func (h *Handler) serveConnections(w http.ResponseWriter, r *http.Request, c *call) {
	user := r.URL.Query().Get("user")
	if user == "" {
		c.status, c.reason = http.StatusBadRequest, "bad parameter user"
		writeError(w, c.status, "invalid_request", "user", "user (the subject) is required")
		return
	}
	c.query = "user=" + user
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.QueryTimeout)
	defer cancel()
	if r.Method == http.MethodDelete {
		conn := r.PathValue("connector")
		c.query += "&disconnect=" + conn
		if err := h.cfg.Connections.Disconnect(ctx, user, conn); err != nil {
			h.fail(w, c, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"user": user, "disconnected": conn})
		return
	}
	m, err := h.cfg.Connections.Connected(ctx, user)
	if err != nil {
		h.fail(w, c, err)
		return
	}
	list := make([]ConnectionStatus, 0, len(m))
	for name, ok := range m {
		list = append(list, ConnectionStatus{Connector: name, Connected: ok})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Connector < list[j].Connector })
	writeJSON(w, http.StatusOK, map[string]any{"user": user, "connections": list})
}
