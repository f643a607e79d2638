package update

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Trial defaults. A release that runs but is not healthy is rolled back
// after DefaultTrialTimeout (the box is back on the previous version
// within 2 minutes of the install); one rolled back while the world was
// down is tried again after DefaultRetryAfter, doubling per such rollback
// up to MaxRetryAfter.
const (
	DefaultTrialTimeout = 90 * time.Second
	DefaultRetryAfter   = 30 * time.Minute
	MaxRetryAfter       = 24 * time.Hour
)

// TrialConfig is what the version on trial needs to decide about itself.
type TrialConfig struct {
	Version string // the running binary's version
	// Checks are the parts of the health check, in order: uplink
	// connected, buffer writable, web page answering. The gateway
	// supplies them. A trial that fails only an External one is judged
	// again by the previous version (see RunTrial).
	Checks []Check
	// Health, when set, replaces AllHealthy(Checks...) for the trial.
	Health   func(ctx context.Context) error
	Timeout  time.Duration // default DefaultTrialTimeout: unhealthy this long means roll back
	Interval time.Duration // between health checks; default 2 s
	// RetryAfter is the pause before a release rolled back while the world
	// was down is tried again, doubled per such rollback up to
	// MaxRetryAfter; default DefaultRetryAfter.
	RetryAfter time.Duration
	OnEvent    func(Event)
	// Restart brings the committed version back after a rollback.
	Restart func() error
	Hook    func(step string) // "trial" before the first health check
	Log     *slog.Logger
}

func (tc *TrialConfig) defaults() {
	if tc.Log == nil {
		tc.Log = slog.New(slog.DiscardHandler)
	}
	if tc.Timeout <= 0 {
		tc.Timeout = DefaultTrialTimeout
	}
	if tc.Interval <= 0 {
		tc.Interval = 2 * time.Second
	}
	if tc.RetryAfter <= 0 {
		tc.RetryAfter = DefaultRetryAfter
	}
	if tc.Health == nil {
		tc.Health = AllHealthy(tc.Checks...)
	}
}

// RunTrial is called by every start of the daemon. When the running
// version is on trial it checks health until healthy (commit) or until the
// timeout (roll back and Restart). It returns whether the running version
// is now the committed one. Crashes and hangs during the trial are caught
// by Layout.Boot's start count, not here.
//
// A version not on trial first reports a commit or rollback not yet
// reported. If the last rollback failed only an external check (the
// broker could not be reached), it then runs that check itself, for up to
// the trial timeout: when it passes, the world is fine and the release is
// to blame (it stays failed); when it fails too, the world was down, and
// the release is taken off the failed list and tried again after a
// backoff (an event "deferred" says when).
//
// A binary that starts while another version is on trial and is that
// version's binary reports the wrong version: it rolls back at once.
func (l *Layout) RunTrial(ctx context.Context, tc TrialConfig) (bool, error) {
	tc.defaults()
	s, err := l.ReadState()
	if err != nil {
		return false, err
	}
	if s.Trial != nil && s.Trial.Version != tc.Version && l.runningIs(s.Trial.Version) {
		reason := fmt.Sprintf("the binary of %s reports version %s", s.Trial.Version, tc.Version)
		return false, l.rollBack(tc, s.Trial.Version, reason, "")
	}
	if s.Trial == nil || s.Trial.Version != tc.Version {
		err := l.report(tc)
		if jerr := l.judge(ctx, tc); jerr != nil && err == nil {
			err = jerr
		}
		return true, err
	}
	prev := s.Trial.Previous
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
			doubt := ""
			if c, ok := externalFailure(last, tc.Checks); ok {
				doubt = c.Name
			}
			return false, l.rollBack(tc, tc.Version, reason, doubt)
		case <-tick.C:
		}
	}
}

// rollBack abandons v (with a doubt about the external check, if named),
// reports it and restarts into the committed version.
func (l *Layout) rollBack(tc TrialConfig, v, reason, doubt string) error {
	var err error
	if doubt != "" {
		err = l.rollbackInDoubt(v, reason, doubt)
	} else {
		err = l.Rollback(v, reason)
	}
	if err != nil {
		return err
	}
	if err := l.report(tc); err != nil {
		tc.Log.Error("update: report rollback", "err", err)
	}
	if tc.Restart != nil {
		if err := tc.Restart(); err != nil {
			return fmt.Errorf("update: restart after rollback: %w", err)
		}
	}
	return nil
}

// runningIs tells whether this process runs the installed binary of v.
func (l *Layout) runningIs(v string) bool {
	exe, err := os.Executable()
	if err != nil {
		return false
	}
	a, err1 := filepath.EvalSymlinks(exe)
	b, err2 := filepath.EvalSymlinks(l.BinaryPath(v))
	return err1 == nil && err2 == nil && a == b
}

// judge settles a doubt left by the last rollback (see RunTrial). The
// doubt stays when ctx ends first, for the next start to settle.
func (l *Layout) judge(ctx context.Context, tc TrialConfig) error {
	s, err := l.ReadState()
	if err != nil || s.Doubt == nil {
		return err
	}
	d := *s.Doubt
	deadline := time.NewTimer(tc.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(tc.Interval)
	defer tick.Stop()
	var last error
	for {
		hctx, cancel := context.WithTimeout(ctx, tc.Interval)
		last = checkNamed(hctx, tc.Checks, d.Check)
		cancel()
		if last == nil {
			tc.Log.Info("update: the previous version passes the check the release failed; the release stays failed",
				"release", d.Version, "check", d.Check)
			return l.settle(d, nil, tc)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-deadline.C:
			return l.settle(d, last, tc)
		case <-tick.C:
		}
	}
}

// settle ends the doubt: with worldErr nil the release stays failed;
// otherwise it gets a retry after the backoff.
func (l *Layout) settle(d Doubt, worldErr error, tc TrialConfig) error {
	s, err := l.ReadState()
	if err != nil {
		return err
	}
	if s.Doubt == nil || *s.Doubt != d {
		return nil // settled by another start
	}
	s.Doubt = nil
	if worldErr == nil {
		s.dropRetry(d.Version) // the world is fine: the release is to blame
		return l.WriteState(s)
	}
	tries := 1
	if r := s.retryOf(d.Version); r != nil {
		tries = r.Tries + 1
	}
	wait := tc.RetryAfter
	for i := 1; i < tries && wait < MaxRetryAfter; i++ {
		wait *= 2
	}
	wait = min(wait, MaxRetryAfter)
	now := l.now().UTC()
	reason := fmt.Sprintf("%s was rolled back while the world was down: %s failed for %s too (%v); trying it again after %s",
		d.Version, d.Check, tc.Version, worldErr, now.Add(wait).Format(time.RFC3339))
	s.unfail(d.Version)
	s.dropRetry(d.Version)
	s.Retry = append(s.Retry, Retry{Version: d.Version, After: now.Add(wait), Tries: tries, Reason: reason})
	if err := l.WriteState(s); err != nil {
		return err
	}
	l.emit(tc, Event{Time: now, State: StateDeferred, From: tc.Version, To: d.Version, Reason: reason})
	return nil
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
