// Package watchdog tells the service manager's watchdog (update.Watchdog)
// whether the daemon's pipeline still works: the scheduler's self poll of
// the box must keep completing. A deadlocked pipeline stops those polls,
// the watchdog stops pinging and systemd restarts the daemon (and counts
// the start against a version on trial).
package watchdog

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/praxisgate/praxisgate/gateway"
)

// Source is where the self polls show (*gateway.Gateway).
type Source interface {
	Latest() []gateway.Latest
}

// Alive returns the liveness test for a gateway whose self poll runs every
// selfInterval: true while the self polls keep completing, false once none
// came for 3 intervals and 30 s. Progress is measured on the monotonic
// clock when a new self result is seen, so a wall-clock jump (NTP setting
// a Raspberry Pi's clock at boot) never looks like a hang. It observes
// until ctx ends.
func Alive(ctx context.Context, src Source, selfInterval time.Duration) func() bool {
	return watch(ctx, src, 3*selfInterval+30*time.Second, min(5*time.Second, selfInterval))
}

// watch looks for a new self poll every so often; alive means one was
// seen within limit.
func watch(ctx context.Context, src Source, limit, every time.Duration) func() bool {
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
			if at, ok := selfPollTime(src); ok && !at.Equal(seen) {
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
func selfPollTime(src Source) (time.Time, bool) {
	for _, l := range src.Latest() {
		if l.Sample.Device == gateway.SelfDevice {
			return l.At, true
		}
	}
	return time.Time{}, false
}
