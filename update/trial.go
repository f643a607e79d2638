package update

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// TrialConfig is what the version on trial needs to decide about itself.
type TrialConfig struct {
	Version string // the running binary's version
	// Health returns nil once the gateway is fully working: uplink
	// connected, buffer writable, web page answering. The gateway supplies it.
	Health   func(ctx context.Context) error
	Timeout  time.Duration // default 5 min: unhealthy this long means roll back
	Interval time.Duration // between health checks; default 2 s
	OnEvent  func(Event)
	// Restart brings the committed version back after a rollback.
	Restart func() error
	Hook    func(step string) // "trial" before the first health check
	Log     *slog.Logger
}

// RunTrial is called by every start of the daemon. When the running
// version is on trial it checks health until healthy (commit) or until the
// timeout (roll back and Restart). It returns whether the running version
// is now the committed one; a version not on trial returns true at once.
// Crashes and hangs during the trial are caught by Layout.Boot's start
// count, not here.
func (l *Layout) RunTrial(ctx context.Context, tc TrialConfig) (bool, error) {
	if tc.Log == nil {
		tc.Log = slog.New(slog.DiscardHandler)
	}
	on, err := l.OnTrial(tc.Version)
	if err != nil {
		return false, err
	}
	if !on {
		return true, l.report(tc)
	}
	if tc.Timeout <= 0 {
		tc.Timeout = 5 * time.Minute
	}
	if tc.Interval <= 0 {
		tc.Interval = 2 * time.Second
	}
	s, _ := l.ReadState()
	prev := ""
	if s.Trial != nil {
		prev = s.Trial.Previous
	}
	l.emit(tc, Event{Time: l.now().UTC(), State: StateTrial, From: prev, To: tc.Version, Reason: fmt.Sprintf("must become healthy within %s", tc.Timeout)})
	if tc.Hook != nil {
		tc.Hook("trial")
	}
	deadline := time.NewTimer(tc.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(tc.Interval)
	defer tick.Stop()
	var last error
	for {
		hctx, cancel := context.WithTimeout(ctx, tc.Interval)
		last = tc.Health(hctx)
		cancel()
		if last == nil {
			if err := l.Commit(tc.Version); err != nil {
				return false, fmt.Errorf("update: commit %s: %w", tc.Version, err)
			}
			return true, l.report(tc)
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-deadline.C:
			reason := fmt.Sprintf("not healthy within %s: %v", tc.Timeout, last)
			if err := l.Rollback(tc.Version, reason); err != nil {
				return false, err
			}
			if err := l.report(tc); err != nil {
				tc.Log.Error("update: report rollback", "err", err)
			}
			if tc.Restart != nil {
				if err := tc.Restart(); err != nil {
					return false, fmt.Errorf("update: restart after rollback: %w", err)
				}
			}
			return false, nil
		case <-tick.C:
		}
	}
}

// emit logs, records in the history and reports a step of the trial.
func (l *Layout) emit(tc TrialConfig, ev Event) {
	tc.Log.Info("update", "state", ev.State, "from", ev.From, "to", ev.To, "reason", ev.Reason)
	if err := l.RecordEvent(ev); err != nil {
		tc.Log.Warn("update: history not written", "err", err)
	}
	if tc.OnEvent != nil {
		tc.OnEvent(ev)
	}
}

// report passes on a commit or rollback that was not reported yet.
func (l *Layout) report(tc TrialConfig) error {
	ev, err := l.TakeNote()
	if ev != nil {
		l.emit(tc, *ev)
	}
	return err
}
