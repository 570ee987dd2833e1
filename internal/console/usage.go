package console

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"time"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// usageHours is the span of the Usage page: the last day, hour by hour.
const usageHours = 24

// maxUsageRows caps the per-key charts; the busiest keys are shown.
const maxUsageRows = 15

// usageData is the Usage page.
type usageData struct {
	By                     string
	Dimensions             []string
	Since, Until           time.Time
	Calls, Errors, Denials int64
	Hourly, ByKey, Latency template.HTML
	Rows                   []audit.Usage
}

var dimensions = []string{string(audit.ByTarget), string(audit.BySubject), string(audit.ByConnector), string(audit.ByVirtualServer)}

func (h *Handler) usagePage(w http.ResponseWriter, r *http.Request, v *view) {
	by := r.URL.Query().Get("by")
	if by == "" {
		by = string(audit.ByTarget)
	}
	if !slices.Contains(dimensions, by) {
		v.Title, v.Message = "Bad grouping", fmt.Sprintf("by must be one of %v.", dimensions)
		h.render(w, http.StatusBadRequest, "problem", v)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.QueryTimeout)
	defer cancel()
	until := h.cfg.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	since := until.Add(-usageHours * time.Hour)
	d := usageData{By: by, Dimensions: dimensions, Since: since, Until: until}

	// One aggregate per hour: the store aggregates (percentiles included) so the page never
	// loads raw events.
	var hours []bar
	for t := since; t.Before(until); t = t.Add(time.Hour) {
		rows, err := h.cfg.Store.AuditUsage(ctx, audit.ByVirtualServer, t, t.Add(time.Hour))
		if err != nil {
			h.storeFailed(w, v, err)
			return
		}
		var u audit.Usage
		for _, row := range rows {
			u.Calls, u.Errors, u.Denials = u.Calls+row.Calls, u.Errors+row.Errors, u.Denials+row.Denials
		}
		d.Calls, d.Errors, d.Denials = d.Calls+u.Calls, d.Errors+u.Errors, d.Denials+u.Denials
		hours = append(hours, bar{Label: t.Format("15h"), Segments: stack(u)})
	}
	d.Hourly = columnChart("Calls per hour (UTC): ok, errors, denials", hours, 3)

	rows, err := h.cfg.Store.AuditUsage(ctx, audit.GroupBy(by), since, until)
	if err != nil {
		h.storeFailed(w, v, err)
		return
	}
	slices.SortFunc(rows, func(a, b audit.Usage) int { return int(b.Calls - a.Calls) })
	if len(rows) > maxUsageRows {
		rows = rows[:maxUsageRows]
	}
	d.Rows = rows
	var calls, latency []bar
	for _, u := range rows {
		key := u.Key
		if key == "" {
			key = "(none)"
		}
		calls = append(calls, bar{Label: key, Segments: stack(u), Note: plural(u.Calls, "call")})
		latency = append(latency, bar{Label: key,
			Segments: []segment{{Value: u.P50Millis, Class: "p50"}, {Value: max(u.P95Millis-u.P50Millis, 0), Class: "p95"}},
			Note:     fmt.Sprintf("p50 %s · p95 %s ms", fmtNum(round1(u.P50Millis)), fmtNum(round1(u.P95Millis)))})
	}
	d.ByKey = barChart("Calls by "+by, calls)
	d.Latency = barChart("Latency by "+by+" (p50, p95)", latency)
	v.Title, v.Nav, v.Data = "Usage", "usage", d
	h.render(w, http.StatusOK, "usage", v)
}

// stack splits a usage row into its ok, error and denial parts (the store counts errors and
// denials apart, both within calls).
func stack(u audit.Usage) []segment {
	return []segment{
		{Value: float64(u.Calls - u.Errors - u.Denials), Class: "ok"},
		{Value: float64(u.Errors), Class: "error"},
		{Value: float64(u.Denials), Class: "denied"},
	}
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
