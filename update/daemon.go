package update

import (
	"context"
	"time"
)

// Daemon is the update machinery in one daemon start, so the gateway wires
// a single call: first the trial of the running version (if it is on
// trial), then periodic checks. Run it in its own goroutine once the
// gateway is up, because the health check needs the running gateway.
type Daemon struct {
	Layout   *Layout
	Manager  *Manager
	Trial    TrialConfig
	Interval time.Duration // between checks; default 24 h
	Jitter   time.Duration // random delay before each check; default 1 h
}

// Run returns when ctx ends, or after a rollback (Trial.Restart was
// called and the daemon is about to be replaced).
func (d *Daemon) Run(ctx context.Context) error {
	ok, err := d.Layout.RunTrial(ctx, d.Trial)
	if err != nil || !ok {
		return err
	}
	if d.Interval <= 0 {
		d.Interval = 24 * time.Hour
	}
	if d.Jitter <= 0 {
		d.Jitter = time.Hour
	}
	d.Manager.Run(ctx, d.Interval, d.Jitter)
	return nil
}
