package console

import (
	"context"
	"net/http"

	"go.uber.org/zap"
)

// connectionRow is one per-user OAuth connector on My connections.
type connectionRow struct {
	Connector  string
	Connected  bool
	ConnectURL string
}

type connectionsData struct {
	Unavailable bool
	Rows        []connectionRow
}

func (h *Handler) connectionsPage(w http.ResponseWriter, r *http.Request, v *view) {
	d := connectionsData{Unavailable: h.cfg.Connections == nil}
	if !d.Unavailable {
		ctx, cancel := context.WithTimeout(r.Context(), h.cfg.QueryTimeout)
		defer cancel()
		state, err := h.cfg.Connections.Connected(ctx, v.User.Subject)
		if err != nil {
			h.cfg.Log.Error("console: list connections", zap.String("subject", v.User.Subject), zap.Error(err))
			v.Title, v.Message = "Connections unavailable", "Your connections could not be listed; see the vmcp log."
			h.render(w, http.StatusInternalServerError, "problem", v)
			return
		}
		for _, name := range sortedKeys(state) {
			d.Rows = append(d.Rows, connectionRow{Connector: name, Connected: state[name], ConnectURL: h.cfg.Connections.ConnectURL(v.User.Subject, name)})
		}
	}
	v.Title, v.Nav, v.Data = "My connections", "connections", d
	h.render(w, http.StatusOK, "connections", v)
}

// disconnect forgets the signed-in user's own tokens for one connector. The subject comes from
// the session, never from the form: a user can only ever disconnect themselves.
func (h *Handler) disconnect(w http.ResponseWriter, r *http.Request, v *view) {
	if h.cfg.Connections == nil {
		v.Title, v.Message = "Connections unavailable", "Per-user connections are not available on this vmcp."
		h.render(w, http.StatusNotFound, "problem", v)
		return
	}
	connector := r.PostForm.Get("connector")
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.QueryTimeout)
	defer cancel()
	state, err := h.cfg.Connections.Connected(ctx, v.User.Subject)
	if err == nil {
		if _, known := state[connector]; !known {
			v.Title, v.Message = "Unknown connector", "There is no per-user connector by that name."
			h.render(w, http.StatusBadRequest, "problem", v)
			return
		}
		err = h.cfg.Connections.Disconnect(ctx, v.User.Subject, connector)
	}
	if err != nil {
		h.cfg.Log.Error("console: disconnect", zap.String("subject", v.User.Subject), zap.String("connector", connector), zap.Error(err))
		v.Title, v.Message = "Not disconnected", "The connection could not be removed; see the vmcp log."
		h.render(w, http.StatusInternalServerError, "problem", v)
		return
	}
	h.cfg.Log.Info("console: disconnected", zap.String("subject", v.User.Subject), zap.String("connector", connector))
	http.Redirect(w, r, Prefix+"connections", http.StatusSeeOther)
}
