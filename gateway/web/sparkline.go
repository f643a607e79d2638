package web

import (
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// The overview's 24 h sparkline of a fridge, drawn on the server as an
// inline SVG (no script, no image request). It has sparkCols columns of
// sparkStep each; a column shows its reading furthest from the middle of
// the band, so an excursion of a few minutes is not averaged away. With
// integer coordinates a line costs about 700 bytes, which keeps even a
// hundred fridges within the page budget.
const (
	sparkCols   = 96
	sparkStep   = 24 * time.Hour / sparkCols
	sparkColW   = 2
	sparkWidth  = sparkCols * sparkColW
	sparkHeight = 40
	sparkGap    = int(time.Hour / sparkStep)
)

// sparkView is a fridge's sparkline with its labels.
type sparkView struct {
	SVG      template.HTML
	Min, Max float64
	Low      float64
	High     float64
}

// sparkline draws h's readings of the 24 h before now; ok is false when
// there is none yet.
func sparkline(h TempHistory, now time.Time) (v sparkView, ok bool) {
	from := now.Add(-24 * time.Hour)
	mid := (h.Low + h.High) / 2
	var cols [sparkCols]float64
	var has [sparkCols]bool
	v.Min, v.Max, v.Low, v.High = math.Inf(1), math.Inf(-1), h.Low, h.High
	for _, p := range h.Points {
		if p.At.Before(from) || p.At.After(now) || math.IsNaN(p.V) || math.IsInf(p.V, 0) {
			continue
		}
		c := min(int(p.At.Sub(from)/sparkStep), sparkCols-1)
		lo, hi := p.V, p.V
		if p.Lo <= p.V && p.V <= p.Hi && !math.IsNaN(p.Lo) && !math.IsNaN(p.Hi) && !math.IsInf(p.Lo, 0) && !math.IsInf(p.Hi, 0) {
			lo, hi = p.Lo, p.Hi
		}
		// The column shows the minute's extreme furthest from the band's
		// middle, so a short excursion either way stays visible.
		far := hi
		if math.Abs(lo-mid) > math.Abs(hi-mid) {
			far = lo
		}
		if !has[c] || math.Abs(far-mid) > math.Abs(cols[c]-mid) {
			cols[c], has[c] = far, true
		}
		v.Min, v.Max = math.Min(v.Min, lo), math.Max(v.Max, hi)
		ok = true
	}
	if !ok {
		return v, false
	}
	lo, hi := math.Min(h.Low, v.Min)-0.5, math.Max(h.High, v.Max)+0.5
	y := func(t float64) string {
		return strconv.Itoa(int(math.Round((hi - t) / (hi - lo) * sparkHeight)))
	}
	var b strings.Builder
	b.Grow(900)
	b.WriteString(`<svg class="spark" width="` + strconv.Itoa(sparkWidth) + `" height="` + strconv.Itoa(sparkHeight) +
		`" viewBox="0 0 ` + strconv.Itoa(sparkWidth) + ` ` + strconv.Itoa(sparkHeight) + `" role="img" aria-label="24h">`)
	if h.High > h.Low {
		top, bottom := y(h.High), y(h.Low)
		tb, _ := strconv.Atoi(top)
		bb, _ := strconv.Atoi(bottom)
		b.WriteString(`<rect x="0" y="` + top + `" width="` + strconv.Itoa(sparkWidth) + `" height="` + strconv.Itoa(bb-tb) + `" fill="#dff2e4"/>`)
	}
	// A gap of more than an hour (no readings: the device was down or the
	// daemon not running) starts a new line instead of bridging it; a
	// fridge polled every half hour still gets one line.
	// A line of a single column (the first quarter hour after the start,
	// or one reading between gaps) would draw nothing: it spans its
	// column's width instead.
	start, last := -1, -2
	flush := func() {
		if start < 0 {
			return
		}
		b.WriteString(`<polyline fill="none" stroke="#1f6fb2" stroke-width="1.5" points="`)
		for c := start; c <= last; c++ {
			if !has[c] {
				continue
			}
			if c > start {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.Itoa(c*sparkColW+1) + "," + y(cols[c]))
		}
		if start == last {
			b.WriteString(" " + strconv.Itoa(start*sparkColW) + "," + y(cols[start]) + " " + strconv.Itoa(start*sparkColW+sparkColW) + "," + y(cols[start]))
		}
		b.WriteString(`"/>`)
	}
	for c := range sparkCols {
		if !has[c] {
			continue
		}
		if start >= 0 && c-last > sparkGap {
			flush()
			start = -1
		}
		if start < 0 {
			start = c
		}
		last = c
	}
	flush()
	b.WriteString(`</svg>`)
	// Only numbers and fixed markup above: nothing from outside the box
	// reaches this HTML.
	v.SVG = template.HTML(b.String())
	return v, true
}
