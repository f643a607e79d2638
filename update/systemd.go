package update

import (
	"context"
	"fmt"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// NotifyReady tells systemd (Type=notify) that the daemon started. It is a
// no-op without systemd.
func NotifyReady() error {
	if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		return fmt.Errorf("update: sd_notify READY: %w", err)
	}
	return nil
}

// NotifyExtendStart asks the service manager for d more to say READY=1
// (EXTEND_TIMEOUT_USEC), for a start that has long work to do before it is
// ready, such as checking a large buffer. A version on trial should not
// ask: a hang before READY=1 must be caught within the start timeout. It
// is a no-op without systemd.
func NotifyExtendStart(d time.Duration) error {
	if _, err := daemon.SdNotify(false, fmt.Sprintf("EXTEND_TIMEOUT_USEC=%d", d.Microseconds())); err != nil {
		return fmt.Errorf("update: sd_notify EXTEND_TIMEOUT_USEC: %w", err)
	}
	return nil
}

// CommittedStartBudget is how long a version that is not on trial may
// take to say READY=1 (ExtendStartUnlessOnTrial): a box must never
// crash-loop because its known good version has a large buffer to open.
const CommittedStartBudget = 2 * time.Minute

// ExtendStartUnlessOnTrial gives the starting daemon CommittedStartBudget
// to become ready instead of the unit's short TimeoutStartSec, unless a
// version is on trial in the install tree at dir ("" when self-update is
// off: nothing is ever on trial). The short limit is for versions on
// trial, where a hang before READY=1 must be rolled back fast; this binary
// is the trial version whenever one is pending, whatever it calls itself.
// It is a no-op without systemd or "update supervise".
func ExtendStartUnlessOnTrial(dir string) error {
	if dir != "" {
		s, err := (&Layout{Dir: dir}).ReadState()
		if err == nil && s.Trial != nil {
			return nil
		}
	}
	return NotifyExtendStart(CommittedStartBudget)
}

// Watchdog pings systemd's watchdog (WatchdogSec in the unit) at half its
// interval while alive reports true, until ctx ends. When the daemon hangs
// (alive false, or this goroutine starved), systemd kills and restarts it,
// and Layout.Boot counts the start against a version on trial. Without a
// watchdog in the environment it returns at once.
func Watchdog(ctx context.Context, alive func() bool) error {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return fmt.Errorf("update: watchdog: %w", err)
	}
	if interval <= 0 {
		return nil
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		if alive == nil || alive() {
			if _, err := daemon.SdNotify(false, daemon.SdNotifyWatchdog); err != nil {
				return fmt.Errorf("update: watchdog ping: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
