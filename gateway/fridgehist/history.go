// Package fridgehist keeps the overview's sparkline: the last 24 h of each
// fridge's temperature, in memory only (the durable record is
// gateway/coldchain). It sees the samples through the gateway's OnSample
// and reads the fridge profile in effect at each reading.
package fridgehist

import (
	"math"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// At most one point per minute, so a fridge costs at most historyCap
// points however fast it is polled.
const (
	historyWindow = 24 * time.Hour
	historyStep   = time.Minute
	historyCap    = int(historyWindow / historyStep)
)

// TempPoint is one minute of a fridge's temperature history: V is the
// reading furthest from the middle of the band (what the sparkline
// draws), Lo and Hi the minute's lowest and highest readings (the true
// extremes of the 24 h min/max).
type TempPoint struct {
	At     time.Time
	V      float64
	Lo, Hi float64
}

// History holds the rings of all fridges; rings appear with a fridge's
// first reading.
type History struct {
	// config is the config in effect (gateway.Gateway.Config): the
	// profile's metric and band are read at each reading.
	config func() *config.Config

	mu    sync.Mutex
	rings map[string]*tempRing
}

// New returns an empty history that reads the fridge profile from config.
func New(config func() *config.Config) *History { return &History{config: config} }

// tempRing is a fixed ring of minute points, oldest at start.
type tempRing struct {
	pts      [historyCap]TempPoint
	start, n int
}

// Observe records the fridge metric of a sample of a fridge (other
// samples are ignored). Within one minute the reading furthest outside
// the middle of the band [low, high] is kept, so a short excursion stays
// visible in the sparkline.
func (h *History) Observe(s drivers.Sample) {
	if s.Kind != config.FridgeKind {
		return
	}
	fp := h.config().Fridge.Effective()
	for _, m := range s.Metrics {
		if m.Name != fp.Metric {
			continue
		}
		v, ok := m.Float()
		if !ok {
			return
		}
		h.add(s.Device, TempPoint{At: s.Time, V: v, Lo: v, Hi: v}, (*fp.Low+*fp.High)/2)
		return
	}
}

func (h *History) add(device string, p TempPoint, mid float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rings == nil {
		h.rings = map[string]*tempRing{}
	}
	r := h.rings[device]
	if r == nil {
		r = &tempRing{}
		h.rings[device] = r
	}
	if r.n > 0 {
		last := &r.pts[(r.start+r.n-1)%historyCap]
		if p.At.Before(last.At.Truncate(historyStep)) {
			return // older than the newest minute: a clock step back; skip
		}
		if p.At.Truncate(historyStep).Equal(last.At.Truncate(historyStep)) {
			lo, hi := math.Min(last.Lo, p.V), math.Max(last.Hi, p.V)
			if math.Abs(p.V-mid) > math.Abs(last.V-mid) {
				last.At, last.V = p.At, p.V
			}
			last.Lo, last.Hi = lo, hi
			return
		}
	}
	if r.n < historyCap {
		r.pts[(r.start+r.n)%historyCap] = p
		r.n++
		return
	}
	r.pts[r.start] = p
	r.start = (r.start + 1) % historyCap
}

// Points returns device's readings of the 24 h before now, oldest first.
func (h *History) Points(device string, now time.Time) []TempPoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rings[device]
	if r == nil {
		return nil
	}
	from := now.Add(-historyWindow)
	out := make([]TempPoint, 0, r.n)
	for i := 0; i < r.n; i++ {
		p := r.pts[(r.start+i)%historyCap]
		if p.At.After(from) && !p.At.After(now) {
			out = append(out, p)
		}
	}
	return out
}
