package admin

import (
	"encoding/json"
	"errors"
	"net/http"

	"go.uber.org/zap"
)

// apiError is the body of every error answer.
type apiError struct {
	Error     string `json:"error"`
	Parameter string `json:"parameter,omitempty"`
	Message   string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to do
}

func writeError(w http.ResponseWriter, status int, code, param, msg string) {
	writeJSON(w, status, apiError{Error: code, Parameter: param, Message: msg})
}

// fail answers a request error: a parameter error is the caller's 400, anything else a 500
// whose details stay in the log.
func (h *Handler) fail(w http.ResponseWriter, c *call, err error) {
	if pe := (*paramError)(nil); errors.As(err, &pe) {
		c.status, c.reason = http.StatusBadRequest, "bad parameter "+pe.param
		writeError(w, c.status, "invalid_request", pe.param, pe.Error())
		return
	}
	c.status, c.reason = http.StatusInternalServerError, "store query failed"
	h.cfg.Log.Error("admin: audit store query failed", zap.Error(err))
	writeError(w, c.status, "server_error", "", "the audit store could not answer; see the vmcp log")
}
