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
