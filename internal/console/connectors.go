package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
)

// healthWindow is the span the Connectors page's health figures cover.
const healthWindow = 24 * time.Hour

// connectorRow is one connector on the Connectors page. It never holds a credential value: only
// the strategy and the names of the header, parameter or user it uses.
type connectorRow struct {
	Name, URL      string
	Credential     string
	VirtualServers []string
	Usage          audit.Usage
	ErrorRate      float64
	LastSuccess    time.Time
	LastCall       time.Time
	LastOutcome    string
	// Tools is the number of tools the signed-in admin sees from it; -1 when unknown.
	Tools int
}

func (h *Handler) connectorsPage(w http.ResponseWriter, r *http.Request, v *view) {
	cfg := v.site.cfg
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.QueryTimeout)
	defer cancel()
	now := h.cfg.Now()
	usage, err := h.cfg.Store.AuditUsage(ctx, audit.ByConnector, now.Add(-healthWindow), now)
	if err != nil {
		h.storeFailed(w, v, err)
		return
	}
	byName := map[string]audit.Usage{}
	for _, u := range usage {
		byName[u.Key] = u
	}
	counts := h.toolCounts(ctx, v)
	var rows []connectorRow
	for i := range cfg.Connectors {
		c := &cfg.Connectors[i]
		row := connectorRow{Name: c.Name, URL: displayURL(c.URL), Credential: credentialSummary(c.Credential), Usage: byName[c.Name], Tools: -1}
		if n, ok := counts[c.Name]; ok {
			row.Tools = n
		}
		if row.Usage.Calls > 0 {
			row.ErrorRate = float64(row.Usage.Errors) / float64(row.Usage.Calls)
		}
		for _, vs := range cfg.VirtualServers {
			for _, ref := range vs.Connectors {
				if ref.Name == c.Name {
					row.VirtualServers = append(row.VirtualServers, vs.Name)
				}
			}
		}
		last, _, err := h.cfg.Store.QueryAuditEvents(ctx, audit.Filter{Connector: c.Name, Kind: audit.KindMCP, Limit: 1})
		if err != nil {
			h.storeFailed(w, v, err)
			return
		}
		if len(last) == 1 {
			row.LastCall, row.LastOutcome = last[0].Time, last[0].Outcome
		}
		ok, _, err := h.cfg.Store.QueryAuditEvents(ctx, audit.Filter{Connector: c.Name, Kind: audit.KindMCP, Outcome: audit.OutcomeOK, Limit: 1})
		if err != nil {
			h.storeFailed(w, v, err)
			return
		}
		if len(ok) == 1 {
			row.LastSuccess = ok[0].Time
		}
		rows = append(rows, row)
	}
	v.Title, v.Nav, v.Data = "Connectors", "connectors", rows
	h.render(w, http.StatusOK, "connectors", v)
}

// toolCounts counts, per connector, the tools the signed-in admin sees on the virtual servers
// that include it (the largest count over those servers). Unknown connectors are left out.
func (h *Handler) toolCounts(ctx context.Context, v *view) map[string]int {
	counts := map[string]int{}
	if h.cfg.EffectiveTools == nil {
		return counts
	}
	cfg := v.site.cfg
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		tools, err := h.cfg.EffectiveTools(ctx, v.User.Subject, v.User.Groups, vs.Name)
		if err != nil {
			h.cfg.Log.Info("console: tool count", zap.String("vs", vs.Name), zap.Error(err))
			continue
		}
		here := map[string]int{}
		for _, ref := range vs.Connectors {
			here[ref.Name] = 0
		}
		attributed := true
		for _, t := range tools {
			var tool struct{ Name string }
			json.Unmarshal(t, &tool)
			c := connectorOf(vs, tool.Name)
			if c == "" {
				attributed = false
				break
			}
			here[c]++
		}
		if !attributed {
			continue
		}
		for c, n := range here {
			counts[c] = max(counts[c], n)
		}
	}
	return counts
}

// credentialSummary names the strategy and where the credential goes, never its value.
func credentialSummary(c config.Credential) string {
	switch c.Type {
	case config.CredentialBearer:
		return "bearer token (Authorization header)"
	case config.CredentialHeader:
		return "API key in header " + c.Header
	case config.CredentialQuery:
		return "API key in query parameter " + c.Param
	case config.CredentialBasic:
		return "basic auth as " + c.Username
	case "", config.CredentialNone:
		return "none"
	default:
		return string(c.Type)
	}
}

// displayURL drops user info and the query from a connector URL: either may hold a key.
func displayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// storeFailed answers a failed audit store query; the details go to the log only.
func (h *Handler) storeFailed(w http.ResponseWriter, v *view, err error) {
	h.cfg.Log.Error("console: audit store query failed", zap.Error(err))
	v.Title, v.Message = "Audit store unavailable", "The audit store could not answer; see the vmcp log."
	h.render(w, http.StatusInternalServerError, "problem", v)
}
