package gateway

import (
	"context"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// ticker is a stage that needs time to pass without any reading: the alarm
// engine (sensor offline after stale_after) and the cold-chain recorder
// (a day ends at midnight whether or not a reading comes).
type ticker interface {
	Tick(now time.Time) []drivers.Event
}

// TickInterval is how often runTicks lets time pass. A second keeps a
// "sensor offline" alarm within a second of its stale_after and costs
// nothing measurable.
const TickInterval = time.Second

// runTicks calls every ticker with the gateway clock until ctx ends,
// appends their events to the buffer and republishes the retained alarm
// set when it changed. It runs on its own goroutine.
func (g *Gateway) runTicks(ctx context.Context, every time.Duration, ts ...ticker) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := g.clock.Now().Time
		var evs []drivers.Event
		for _, tk := range ts {
			evs = append(evs, tk.Tick(now)...)
		}
		if len(evs) > 0 {
			g.Emit(context.Background(), evs...)
			g.publishAlarms(false)
		}
	}
}
