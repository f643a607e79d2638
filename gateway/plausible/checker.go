package plausible

import (
	"fmt"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// InvalidEvent is the type of the event a refused reading becomes.
const InvalidEvent = "reading.invalid"

// Checker holds every device's plausible ranges and filters samples. It is
// safe for concurrent use (devices are polled on their own goroutines).
type Checker struct {
	ranges map[string]map[string]Range // device → metric → range

	mu sync.Mutex
	// refused counts the readings refused since the last event per
	// device/metric; present means the metric is refused right now.
	refused map[string]int
}

// New builds a Checker from the configured devices: the built-in range of
// the device's kind, replaced by the device's plausible: entries.
func New(devices []config.Device) *Checker {
	c := &Checker{ranges: map[string]map[string]Range{}, refused: map[string]int{}}
	for _, d := range devices {
		m := map[string]Range{}
		for metric := range byMetric {
			m[metric], _ = Default(d.Kind, metric)
		}
		for metric, r := range byKind[d.Kind] {
			m[metric] = r
		}
		for metric, p := range d.Plausible {
			r, ok := m[metric]
			if !ok {
				r = Range{Min: -1e308, Max: 1e308}
			}
			if p.Min != nil {
				r.Min = *p.Min
			}
			if p.Max != nil {
				r.Max = *p.Max
			}
			m[metric] = r
		}
		c.ranges[d.ID] = m
	}
	return c
}

// Range returns the plausible range of a device's metric, or false when
// the metric is not checked.
func (c *Checker) Range(device, metric string) (Range, bool) {
	r, ok := c.ranges[device][metric]
	return r, ok
}

// Filter returns the sample without its implausible readings, and an
// InvalidEvent when a metric turns implausible (one per episode, not per
// poll: a probe stuck at 85.0 must not flood the buffer). The
// gateway calls it on every successful poll before the alarm engine and
// the cold-chain record see the sample. A nil Checker passes everything.
func (c *Checker) Filter(s drivers.Sample) (drivers.Sample, []drivers.Event) {
	if c == nil {
		return s, nil
	}
	ranges := c.ranges[s.Device]
	if len(ranges) == 0 {
		return s, nil
	}
	var evs []drivers.Event
	var kept []drivers.Metric
	for i, m := range s.Metrics {
		r, ok := ranges[m.Name]
		if !ok {
			if kept != nil {
				kept = append(kept, m)
			}
			continue
		}
		v, isNum := m.Float()
		if !isNum {
			if kept != nil {
				kept = append(kept, m)
			}
			continue
		}
		why := Check(m.Name, v, r)
		if ev, refused := c.note(s.Device, m.Name, v, why, s.Time); refused {
			if kept == nil {
				kept = append(make([]drivers.Metric, 0, len(s.Metrics)), s.Metrics[:i]...)
			}
			if ev != nil {
				evs = append(evs, *ev)
			}
			continue
		}
		if kept != nil {
			kept = append(kept, m)
		}
	}
	if kept != nil {
		s.Metrics = kept
	}
	return s, evs
}

// note keeps the episode state of one device/metric and returns the event
// to raise, if any, and whether the reading is refused.
func (c *Checker) note(device, metric string, v float64, why string, at time.Time) (*drivers.Event, bool) {
	key := device + "\x00" + metric
	c.mu.Lock()
	defer c.mu.Unlock()
	if why == "" {
		delete(c.refused, key)
		return nil, false
	}
	n, going := c.refused[key]
	c.refused[key] = n + 1
	if going {
		return nil, true
	}
	ev := Event(device, metric, v, why, at)
	return &ev, true
}

// Event is the InvalidEvent of one refused reading.
func Event(device, metric string, v float64, why string, at time.Time) drivers.Event {
	return drivers.Event{Device: device, Time: at, Type: InvalidEvent, Severity: drivers.Minor,
		Message: fmt.Sprintf("%s reading refused: %s; the metric counts as missing until a plausible reading arrives", metric, why),
		Attrs:   map[string]any{"metric": metric, "value": fmt.Sprintf("%g", v), "reason": why}}
}
