package gateway

import (
	"context"
	"sync/atomic"
	"time"
)

// WatchAlive returns the liveness test for the service manager's watchdog
// (update.Watchdog): true while the scheduler's self poll of the box keeps
// completing. A deadlocked pipeline stops those polls, the watchdog stops
// pinging and systemd restarts the daemon (and counts the start against a
// version on trial). Progress is measured on the monotonic clock when a new
// self result is seen, so a wall-clock jump (NTP setting a Raspberry Pi's
// clock at boot) never looks like a hang. It observes until ctx ends.
func (g *Gateway) WatchAlive(ctx context.Context) func() bool {
	return g.watchAlive(ctx, 3*g.Config().Self.Interval+30*time.Second, min(5*time.Second, g.Config().Self.Interval))
}

// watchAlive looks for a new self poll every so often; alive means one was
// seen within limit.
func (g *Gateway) watchAlive(ctx context.Context, limit, every time.Duration) func() bool {
	start := time.Now()
	var progress atomic.Int64 // nanoseconds since start of the last seen self poll
	go func() {
		var seen time.Time
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if at, ok := g.selfPollTime(); ok && !at.Equal(seen) {
				seen = at
				progress.Store(int64(time.Since(start)))
			}
		}
	}()
	return func() bool {
		return time.Since(start)-time.Duration(progress.Load()) < limit
	}
}

// selfPollTime is the time of the last completed self poll.
func (g *Gateway) selfPollTime() (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.latest[SelfDevice]
	return l.At, ok
}
