package gateway

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/schedule"
)

// Source is a reading source that is not a configured device: a part of
// the box wired in by cmd/praxisgate (the SMS notifier's cellular modem)
// whose health must reach the provider and the alarm engine exactly like
// a device's readings. The core polls it like a device (telemetry,
// conditions that become alarms, device.unreachable after a failed poll)
// but knows nothing of what it is, and does not close its driver: the
// feature that owns it does.
type Source struct {
	// ID is the device id its readings carry; it must not be a configured
	// device's id nor the box's own (SelfDevice).
	ID string
	// Kind is the device kind in telemetry (e.g. "modem").
	Kind   string
	Driver drivers.Driver
	// Interval between polls; Timeout bounds one poll (at most Interval).
	Interval time.Duration
	Timeout  time.Duration
}

// ErrSourceID is returned by AddSource for an id that is taken or empty.
var ErrSourceID = errors.New("source id not available")

// AddSource polls s like a device from now on (or from Run on, when
// called before Run). Features use it so that the core needs no knowledge
// of them (docs/architecture.md): the notifier's wiring registers the
// modem this way.
func (g *Gateway) AddSource(s Source) error {
	if s.ID == "" || s.Driver == nil {
		return fmt.Errorf("add source %q: %w: an id and a driver are required", s.ID, ErrSourceID)
	}
	g.lifeMu.Lock()
	defer g.lifeMu.Unlock()
	if g.closed {
		return fmt.Errorf("add source %s: the gateway is shutting down", s.ID)
	}
	if s.ID == SelfDevice {
		return fmt.Errorf("add source %s: %w: it is the box's own device", s.ID, ErrSourceID)
	}
	for _, d := range g.Config().Devices {
		if d.ID == s.ID {
			return fmt.Errorf("add source %s: %w: a configured device has it", s.ID, ErrSourceID)
		}
	}
	g.mu.Lock()
	if g.sources == nil {
		g.sources = map[string]bool{}
	}
	dup := g.sources[s.ID]
	g.sources[s.ID] = true
	g.mu.Unlock()
	if dup {
		return fmt.Errorf("add source %s: %w: added twice", s.ID, ErrSourceID)
	}
	g.sched.Add(schedule.Job{Device: s.ID, Kind: s.Kind, Driver: s.Driver, Interval: s.Interval, Timeout: s.Timeout,
		Jitter: s.Interval / 20, UnreachableAfter: 1})
	g.log.Info("reading source added", "device", s.ID, "kind", s.Kind, "interval", s.Interval)
	return nil
}

// sourceIDs are the ids of the sources added so far.
func (g *Gateway) sourceIDs() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, len(g.sources))
	for id := range g.sources {
		out = append(out, id)
	}
	return out
}

// Sources are the ids of the reading sources added so far, sorted: the
// provider's poll-now of every device polls them too.
func (g *Gateway) Sources() []string {
	ids := g.sourceIDs()
	slices.Sort(ids)
	return ids
}

// isSource reports whether id belongs to a source (AddSource).
func (g *Gateway) isSource(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sources[id]
}
