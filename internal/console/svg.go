package console

import (
	"fmt"
	"html/template"
	"strings"
)

// Charts are inline SVG drawn on the server: no chart library, no script, and they render in
// any browser (and in a screenshot) exactly as sent. Only numbers computed here and labels
// escaped by escape go into the markup.

// segment is one colored part of a stacked bar.
type segment struct {
	Value float64
	Class string // ok, error, denied, p50, p95: colors live in console.css
}

// bar is one labelled stack.
type bar struct {
	Label    string
	Segments []segment
	// Note is printed after the bar (a total, say).
	Note string
}

func escape(s string) string { return template.HTMLEscapeString(s) }

func total(b bar) float64 {
	var t float64
	for _, s := range b.Segments {
		t += s.Value
	}
	return t
}

// columnChart draws stacked vertical bars, one per bar, with every labelEvery-th label shown
// under the axis and the maximum on the y axis.
func columnChart(title string, bars []bar, labelEvery int) template.HTML {
	const w, h, left, bottom, top = 720, 220, 40, 24, 10
	maxV := 0.0
	for _, b := range bars {
		maxV = max(maxV, total(b))
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d"><title>%s</title>`, w, h, w, h, escape(title))
	fmt.Fprintf(&sb, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, left, h-bottom, w, h-bottom)
	fmt.Fprintf(&sb, `<text class="label" x="%d" y="%d" text-anchor="end">%s</text>`, left-4, top+8, fmtNum(maxV))
	fmt.Fprintf(&sb, `<text class="label" x="%d" y="%d" text-anchor="end">0</text>`, left-4, h-bottom)
	if len(bars) > 0 {
		slot := float64(w-left) / float64(len(bars))
		for i, b := range bars {
			x := float64(left) + float64(i)*slot + slot*0.1
			y := float64(h - bottom)
			for _, s := range b.Segments {
				if s.Value <= 0 || maxV == 0 {
					continue
				}
				hh := s.Value / maxV * float64(h-bottom-top)
				y -= hh
				fmt.Fprintf(&sb, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s %s</title></rect>`,
					s.Class, x, y, slot*0.8, hh, escape(b.Label), fmtNum(s.Value), s.Class)
			}
			if labelEvery > 0 && i%labelEvery == 0 {
				fmt.Fprintf(&sb, `<text class="label" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x+slot*0.4, h-6, escape(b.Label))
			}
		}
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// barChart draws stacked horizontal bars, one row per bar, label on the left, note on the right.
func barChart(title string, bars []bar) template.HTML {
	const w, row, left, right = 720, 22, 200, 170
	h := max(row*len(bars), row) + 4
	maxV := 0.0
	for _, b := range bars {
		maxV = max(maxV, total(b))
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d"><title>%s</title>`, w, h, w, h, escape(title))
	for i, b := range bars {
		y := i*row + 2
		fmt.Fprintf(&sb, `<text class="label" x="%d" y="%d" text-anchor="end">%s</text>`, left-6, y+15, escape(clip(b.Label, 28)))
		x := float64(left)
		for _, s := range b.Segments {
			if s.Value <= 0 || maxV == 0 {
				continue
			}
			ww := s.Value / maxV * float64(w-left-right)
			fmt.Fprintf(&sb, `<rect class="%s" x="%.1f" y="%d" width="%.1f" height="%d"><title>%s: %s %s</title></rect>`,
				s.Class, x, y+3, ww, row-6, escape(b.Label), fmtNum(s.Value), s.Class)
			x += ww
		}
		fmt.Fprintf(&sb, `<text class="label" x="%.1f" y="%d">%s</text>`, x+6, y+15, escape(b.Note))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

func fmtNum(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.1f", v)
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
